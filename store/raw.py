"""Raw landing: every vendor record as received, versioned by content hash."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa

from store.cursors import set_cursor
from store.hashing import content_hash, to_jsonable
from store.records import LandCounts
from store.schema import raw_records
from store.timeutil import utcnow

# Keeps IN lists well under SQLite's bound-parameter limit.
CHUNK = 500


def chunked(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def land_raw(
    conn: sa.Connection, system: str, entity: str, records: Iterable[tuple[str, dict]], complete: bool = False,
    present: Iterable[str] = (),
) -> LandCounts:
    """Insert new records, bump the version of changed ones, leave identical ones untouched.

    A record seen twice in one batch counts once; the last payload wins. With `complete=True` the
    batch is a full read of the stream, so a stored record it lacks was deleted at the source and
    is marked deleted (kept for audit, hidden from raw_payloads); a record that comes back is revived.
    `present` names records the full read saw but does not land (rejected by validation): they are
    not deleted, and their last good version stays.
    """
    latest: dict[str, Any] = {}
    for external_id, payload in records:
        latest[str(external_id)] = to_jsonable(payload)
    inserted = updated = unchanged = 0
    now = utcnow()
    for chunk in chunked(list(latest)):
        stored = {
            row.external_id: row
            for row in conn.execute(
                sa.select(
                    raw_records.c.external_id, raw_records.c.payload_hash, raw_records.c.version,
                    raw_records.c.deleted_at,
                ).where(
                    raw_records.c.system == system,
                    raw_records.c.entity == entity,
                    raw_records.c.external_id.in_(chunk),
                )
            )
        }
        new_rows, changed_rows = [], []
        for external_id in chunk:
            payload = latest[external_id]
            digest = content_hash(payload)
            existing = stored.get(external_id)
            if existing is None:
                new_rows.append(
                    {"system": system, "entity": entity, "external_id": external_id, "payload": payload,
                     "payload_hash": digest, "version": 1, "first_seen_at": now, "landed_at": now}
                )
            elif existing.payload_hash != digest or existing.deleted_at is not None:
                changed_rows.append(
                    {"b_external_id": external_id, "b_payload": payload, "b_payload_hash": digest,
                     "b_version": existing.version + 1, "b_landed_at": now}
                )
            else:
                unchanged += 1
        if new_rows:
            conn.execute(sa.insert(raw_records), new_rows)
            inserted += len(new_rows)
        if changed_rows:
            conn.execute(
                sa.update(raw_records)
                .where(
                    raw_records.c.system == system,
                    raw_records.c.entity == entity,
                    raw_records.c.external_id == sa.bindparam("b_external_id"),
                )
                .values(
                    payload=sa.bindparam("b_payload", type_=raw_records.c.payload.type),
                    payload_hash=sa.bindparam("b_payload_hash"),
                    version=sa.bindparam("b_version"),
                    landed_at=sa.bindparam("b_landed_at", type_=raw_records.c.landed_at.type),
                    deleted_at=None,
                ),
                changed_rows,
            )
            updated += len(changed_rows)
    deleted = mark_absent(conn, system, entity, set(latest) | {str(i) for i in present}, now) if complete else 0
    return LandCounts(inserted=inserted, updated=updated, unchanged=unchanged, deleted=deleted)


def mark_absent(conn: sa.Connection, system: str, entity: str, present: set[str], now=None) -> int:
    """Mark deleted every live record of `entity` not in `present` (the ids a full read saw); returns how many."""
    now = now or utcnow()
    live = conn.execute(
        sa.select(raw_records.c.external_id).where(
            raw_records.c.system == system, raw_records.c.entity == entity, raw_records.c.deleted_at.is_(None)
        )
    ).scalars()
    absent = sorted(set(live) - present)
    for chunk in chunked(absent):
        conn.execute(
            sa.update(raw_records)
            .where(raw_records.c.system == system, raw_records.c.entity == entity,
                   raw_records.c.external_id.in_(chunk))
            .values(deleted_at=now)
        )
    return len(absent)


def raw_payloads(conn: sa.Connection, system: str, entity: str) -> list[tuple[str, dict]]:
    """Every live (not deleted) landed (external_id, payload) for one stream, ordered by external id."""
    rows = conn.execute(
        sa.select(raw_records.c.external_id, raw_records.c.payload)
        .where(raw_records.c.system == system, raw_records.c.entity == entity, raw_records.c.deleted_at.is_(None))
        .order_by(raw_records.c.external_id)
    )
    return [(row.external_id, row.payload) for row in rows]


def payloads_of(conn: sa.Connection, system: str, entity: str, external_ids: Iterable[str]) -> dict[str, dict]:
    """The landed payload of each of `external_ids` that is stored, deleted or not (a tombstone's last state)."""
    ids, found = sorted({str(external_id) for external_id in external_ids}), {}
    for chunk in chunked(ids):
        rows = conn.execute(
            sa.select(raw_records.c.external_id, raw_records.c.payload).where(
                raw_records.c.system == system, raw_records.c.entity == entity,
                raw_records.c.external_id.in_(chunk))
        )
        found.update({row.external_id: row.payload for row in rows})
    return found


def raw_version(conn: sa.Connection, system: str, entity: str, external_id: str) -> int | None:
    """The current version of one landed record (1 = as first seen), or None if never landed."""
    return conn.execute(
        sa.select(raw_records.c.version).where(
            raw_records.c.system == system,
            raw_records.c.entity == entity,
            raw_records.c.external_id == external_id,
        )
    ).scalar_one_or_none()


def mark_deleted(conn: sa.Connection, system: str, entity: str, external_ids: Iterable[str]) -> int:
    """Mark records a change feed reported deleted (kept for audit, hidden from raw_payloads)."""
    ids = sorted({str(external_id) for external_id in external_ids})
    marked = 0
    for chunk in chunked(ids):
        marked += conn.execute(
            sa.update(raw_records)
            .where(raw_records.c.system == system, raw_records.c.entity == entity,
                   raw_records.c.external_id.in_(chunk), raw_records.c.deleted_at.is_(None))
            .values(deleted_at=utcnow())
        ).rowcount
    return marked


def land_changes(
    conn: sa.Connection, system: str, entity: str, records: Iterable[tuple[str, dict]], deleted: Iterable[str],
    stream: str, cursor: tuple[int, str] | None, *, complete: bool = False, present: Iterable[str] = (),
) -> LandCounts:
    """Land a change feed's records and tombstones and move its cursor, all in the caller's transaction, so
    the cursor never covers data that is not stored. The counts' `deleted` includes the tombstones marked."""
    counts = land_raw(conn, system, entity, records, complete=complete, present=present)
    marked = mark_deleted(conn, system, entity, deleted)
    if cursor is not None:
        set_cursor(conn, stream, *cursor)
    return LandCounts(inserted=counts.inserted, updated=counts.updated, unchanged=counts.unchanged,
                      deleted=counts.deleted + marked)
