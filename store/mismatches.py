"""Mismatches: the open set per entity is whatever the latest reconcile found.

Identity (entity, kind, key, field) decides whether a finding is the same drift as before: the same
drift stays one open row (so finance is alerted once), a fixed drift is resolved, a new one inserted.
"""

from __future__ import annotations

import sqlalchemy as sa

from mappings.canonical import Mismatch
from store.records import MismatchDelta, MismatchRow
from store.schema import mismatches
from store.timeutil import as_utc, utcnow


def _mismatch(row: sa.Row) -> Mismatch:
    return Mismatch(
        entity=row.entity,
        kind=row.kind,
        key=row.canonical_key,
        ids=dict(row.ids),
        field=row.field,
        expected=row.expected,
        actual=row.actual,
    )


def _row(row: sa.Row) -> MismatchRow:
    return MismatchRow(
        id=row.id,
        run_id=row.run_id,
        detected_at=as_utc(row.detected_at),
        alerted_at=as_utc(row.alerted_at),
        resolved_at=as_utc(row.resolved_at),
        mismatch=_mismatch(row),
    )


def _open_query(entity: str | None = None) -> sa.Select:
    query = sa.select(mismatches).where(mismatches.c.resolved_at.is_(None))
    if entity is not None:
        query = query.where(mismatches.c.entity == entity)
    return query.order_by(mismatches.c.id)


def _latest_values(mismatch: Mismatch, run_id: str) -> dict:
    return {
        "run_id": run_id,
        "ids": dict(mismatch.ids),
        "expected": mismatch.expected,
        "actual": mismatch.actual,
    }


def replace_mismatches(conn: sa.Connection, entity: str, run_id: str, found: list[Mismatch]) -> MismatchDelta:
    """Make the open mismatches of `entity` exactly `found` (by identity) and say what changed."""
    wrong = [m for m in found if m.entity != entity]
    if wrong:
        raise ValueError(f"replace_mismatches({entity!r}) got a mismatch for entity {wrong[0].entity!r}")
    # The last finding for an identity wins, as a reconcile reporting one drift twice means one drift.
    found_by_identity = {m.identity(): m for m in found}
    open_rows: dict[tuple, sa.Row] = {}
    duplicates: list[sa.Row] = []  # cannot arise through this module, but must not stay open forever
    for row in conn.execute(_open_query(entity)):
        identity = _mismatch(row).identity()
        if identity in open_rows:
            duplicates.append(row)
        else:
            open_rows[identity] = row
    now = utcnow()
    new, still_open, resolved = [], [], []
    for identity, mismatch in found_by_identity.items():
        row = open_rows.get(identity)
        if row is None:
            conn.execute(
                sa.insert(mismatches).values(
                    entity=entity,
                    kind=mismatch.kind,
                    canonical_key=mismatch.key,
                    field=mismatch.field,
                    detected_at=now,
                    **_latest_values(mismatch, run_id),
                )
            )
            new.append(mismatch)
        else:
            # Same drift: keep detected_at and alerted_at, refresh what it looks like now.
            conn.execute(
                sa.update(mismatches).where(mismatches.c.id == row.id).values(**_latest_values(mismatch, run_id))
            )
            still_open.append(mismatch)
    gone = [row for identity, row in open_rows.items() if identity not in found_by_identity]
    if gone or duplicates:
        ids = [row.id for row in gone + duplicates]
        conn.execute(sa.update(mismatches).where(mismatches.c.id.in_(ids)).values(resolved_at=now))
        resolved = [_mismatch(row) for row in gone]
    return MismatchDelta(new=tuple(new), still_open=tuple(still_open), resolved=tuple(resolved))


def open_mismatches(conn: sa.Connection, entity: str | None = None) -> list[MismatchRow]:
    return [_row(row) for row in conn.execute(_open_query(entity))]


def unalerted_mismatches(conn: sa.Connection) -> list[MismatchRow]:
    """Open mismatches nobody has been told about yet (a drift fixed before alerting needs no alert)."""
    query = _open_query().where(mismatches.c.alerted_at.is_(None))
    return [_row(row) for row in conn.execute(query)]


def mark_alerted(conn: sa.Connection, ids: list[int]) -> None:
    """Stamp alerted_at once; re-marking keeps the first alert time."""
    if not ids:
        return
    conn.execute(
        sa.update(mismatches)
        .where(mismatches.c.id.in_(list(ids)), mismatches.c.alerted_at.is_(None))
        .values(alerted_at=utcnow())
    )
