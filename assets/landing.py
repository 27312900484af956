"""Landing a source read: validate each record, dead-letter the rejects, land the rest with the cursor."""

from __future__ import annotations

from collections.abc import Callable

from store import raw
from store.hub import Hub
from store.records import LandCounts

# Marks the dead letters validation wrote, so a fixed record clears only these (the mappings clear their own).
REASON_PREFIX = "rejected before landing: "


def land_validated(context, store: Hub, system: str, entity: str, records: list[dict],
                   check: Callable[[dict], object], *, deleted: list[str], stream: str, cursor,
                   complete: bool, id_field: str = "id") -> tuple[LandCounts, list[str]]:
    """Land the records `check` passes (it returns a Problem with `field` and `reason`, or None), the
    tombstones and the cursor in one transaction; the rejected records go to the dead letters.

    With `complete` (a full read) a stored record the read lacks is marked deleted, but a rejected one is
    not: its last good version stays landed. Returns the counts and the rejected ids."""
    good: list[tuple[str, dict]] = []
    rejected: list[str] = []
    for record in records:
        found = check(record)
        if found is None:
            good.append((str(record[id_field]), record))
            continue
        external_id = record.get(id_field) if isinstance(record, dict) else None
        external_id = str(external_id) if external_id not in (None, "") else "(missing id)"
        store.dead_letter(system, entity, external_id, REASON_PREFIX + found.reason, record, run_id=context.run_id,
                          field=found.field or None)
        rejected.append(external_id)
        context.log.warning(f"{system} {entity} {external_id} dead-lettered before landing: {found.reason}")
    with store.transaction() as conn:
        counts = raw.land_changes(conn, system, entity, good, deleted, stream, cursor, complete=complete,
                                  present=rejected)
    _clear_fixed(store, system, entity, {external_id for external_id, _ in good})
    return counts, rejected


def _clear_fixed(store: Hub, system: str, entity: str, good_ids: set[str]) -> None:
    for letter in store.dead_letters(system, entity):
        if letter.external_id in good_ids and letter.reason.startswith(REASON_PREFIX):
            store.clear_dead_letter(system, entity, letter.external_id)

