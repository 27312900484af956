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


# Entities to reconcile: a row per (system, entity) in the same table, under a prefix no cursor uses, so
# no migration is needed. cursor_ts: when it was flagged (Unix seconds); cursor_id: why ("cursor_gap").
RECONCILE_PREFIX = "reconcile:"


def flag_for_reconciliation(conn: sa.Connection, system: str, entity: str, reason: str) -> None:
    set_cursor(conn, f"{RECONCILE_PREFIX}{system}.{entity}", int(utcnow().timestamp()), reason)


def reconciliation_flags(conn: sa.Connection) -> list[tuple[str, str, int, str]]:
    """Every flagged entity as (system, entity, flagged at in Unix seconds, reason), oldest first."""
    rows = conn.execute(
        sa.select(sync_cursors.c.stream, sync_cursors.c.cursor_ts, sync_cursors.c.cursor_id)
        .where(sync_cursors.c.stream.startswith(RECONCILE_PREFIX, autoescape=True))
        .order_by(sync_cursors.c.cursor_ts, sync_cursors.c.stream)
    )
    flags = []
    for row in rows:
        system, _, entity = row.stream[len(RECONCILE_PREFIX):].partition(".")
        flags.append((system, entity, int(row.cursor_ts), row.cursor_id))
    return flags


def clear_reconciliation_flag(conn: sa.Connection, system: str, entity: str) -> int:
    """Called by reconciliation once it has compared the entity; returns how many flags it removed."""
    stream = f"{RECONCILE_PREFIX}{system}.{entity}"
    return conn.execute(sa.delete(sync_cursors).where(sync_cursors.c.stream == stream)).rowcount
