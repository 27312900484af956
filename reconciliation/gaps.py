"""Change-log gaps awaiting reconciliation.

A source that finds its cursor older than the vendor keeps its change log backfills with a full read
and flags the entity in the hub (store: reconciliation flags), because changes in the gap (deletes
above all) may have reached targets late or never. A reconciliation that compares an entity across
systems settles that entity's flags; flags on entities no reconciliation compares yet stay open, and
the reconciliation asset reports them as a warning so finance knows the books need a look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from store.hub import Hub


@dataclass(frozen=True)
class Gap:
    system: str
    entity: str
    flagged_at: int
    reason: str

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.flagged_at, UTC).isoformat(timespec="minutes")
        return f"{self.system} {self.entity} ({self.reason} since {when})"


def settle_gaps(hub: Hub, compared: set[tuple[str, str]]) -> tuple[list[Gap], list[Gap]]:
    """Clear the flags of the (system, entity) pairs a finished reconciliation compared.
    Returns (settled, still open)."""
    settled, still_open = [], []
    for system, entity, flagged_at, reason in hub.reconciliation_flags():
        gap = Gap(system, entity, flagged_at, reason)
        if (system, entity) in compared:
            hub.clear_reconciliation_flag(system, entity)
            settled.append(gap)
        else:
            still_open.append(gap)
    return settled, still_open
