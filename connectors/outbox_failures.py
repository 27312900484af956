"""A failed attempt of an outbox row, recorded the one way every target's push records it."""

from __future__ import annotations

import logging
from typing import Any

from store.hub import Hub
from store.records import OutboxRow


def fail_row(hub: Hub, counts: Any, row: OutboxRow, error: str, attempt: int, *, log: logging.Logger,
             vendor: str, record: Any = None, field: str | None = None) -> None:
    """Mark `row` failed, count it in `counts` (`failed`, `errors`, `dead_lettered`) and log it; at its last
    allowed attempt (`hub.max_attempts`) it also goes to the dead letters, with the error as the reason and
    `record` as what could not be written. The row stays in the outbox; `pending` no longer offers it then."""
    hub.mark_failed(row.id, error)
    counts.failed += 1
    counts.errors.append(f"{row.entity} {row.canonical_key}: {error}")
    log.error("%s %s %s for %s failed (attempt %d): %s", vendor, row.entity, row.operation, row.canonical_key,
              attempt, error)
    if attempt >= hub.max_attempts:
        hub.dead_letter(row.system, row.entity, row.canonical_key, f"{row.operation} failed {attempt} times: {error}",
                        record, field=field)
        counts.dead_lettered += 1
