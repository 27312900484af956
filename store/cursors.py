"""Incremental sync cursors: a (timestamp, id) pair per stream, so records sharing a timestamp are not skipped."""

from __future__ import annotations

import sqlalchemy as sa

from store.schema import sync_cursors
from store.timeutil import utcnow


def get_cursor(conn: sa.Connection, stream: str) -> tuple[int, str] | None:
    row = conn.execute(
        sa.select(sync_cursors.c.cursor_ts, sync_cursors.c.cursor_id).where(sync_cursors.c.stream == stream)
    ).first()
    return None if row is None else (int(row.cursor_ts), row.cursor_id)


def set_cursor(conn: sa.Connection, stream: str, ts: int, id: str) -> None:
    """Store the cursor; callers do this in the same transaction as (or after) the data it covers."""
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise TypeError(f"cursor timestamp must be an int, got {type(ts).__name__}")
    values = {"cursor_ts": ts, "cursor_id": id, "updated_at": utcnow()}
    result = conn.execute(sa.update(sync_cursors).where(sync_cursors.c.stream == stream).values(**values))
    if result.rowcount == 0:
        conn.execute(sa.insert(sync_cursors).values(stream=stream, **values))
