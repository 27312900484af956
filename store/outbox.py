"""The outbox: every vendor write is a row, keyed by its idempotency key, stored BEFORE the call.

A crash between enqueue and the vendor call leaves a pending row; the retry re-enqueues, gets that
same row back and calls the vendor with the same key, so the vendor deduplicates.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from store.hashing import to_jsonable
from store.records import OutboxRow
from store.redact import redact_text
from store.schema import outbox, raw_records
from store.timeutil import as_utc, utcnow

DEFAULT_MAX_ATTEMPTS = 5
MAX_ERROR_CHARS = 2000


def _row(row: sa.Row) -> OutboxRow:
    values = row._asdict()
    values["created_at"] = as_utc(values["created_at"])
    values["updated_at"] = as_utc(values["updated_at"])
    return OutboxRow(**values)


def outbox_row(conn: sa.Connection, idempotency_key: str) -> OutboxRow | None:
    row = conn.execute(sa.select(outbox).where(outbox.c.idempotency_key == idempotency_key)).first()
    return None if row is None else _row(row)


def outbox_row_by_id(conn: sa.Connection, outbox_id: int) -> OutboxRow | None:
    row = conn.execute(sa.select(outbox).where(outbox.c.id == outbox_id)).first()
    return None if row is None else _row(row)


def insert_outbox_row(
    conn: sa.Connection,
    system: str,
    entity: str,
    operation: str,
    canonical_key: str,
    idempotency_key: str,
    payload: dict[str, Any],
) -> OutboxRow:
    """Insert a pending row; raises IntegrityError if the key exists (the Hub turns that into a re-read)."""
    now = utcnow()
    conn.execute(
        sa.insert(outbox).values(
            system=system,
            entity=entity,
            operation=operation,
            canonical_key=canonical_key,
            idempotency_key=idempotency_key,
            payload=to_jsonable(payload),
            status="pending",
            attempts=0,
            created_at=now,
            updated_at=now,
        )
    )
    row = outbox_row(conn, idempotency_key)
    assert row is not None  # just inserted in this transaction
    return row


def existing_keys(conn: sa.Connection, idempotency_keys: list[str]) -> set[str]:
    """Which of these idempotency keys already have a row (500 per query)."""
    found: set[str] = set()
    for start in range(0, len(idempotency_keys), 500):
        chunk = idempotency_keys[start:start + 500]
        found.update(conn.execute(sa.select(outbox.c.idempotency_key)
                                  .where(outbox.c.idempotency_key.in_(chunk))).scalars())
    return found


def insert_outbox_rows(conn: sa.Connection, rows: list[tuple[str, str, str, str, str, dict[str, Any]]]) -> None:
    """insert_outbox_row for many (system, entity, operation, canonical_key, idempotency_key, payload) at once;
    raises IntegrityError if any key exists."""
    if not rows:
        return
    now = utcnow()
    conn.execute(sa.insert(outbox), [
        {"system": system, "entity": entity, "operation": operation, "canonical_key": canonical_key,
         "idempotency_key": key, "payload": to_jsonable(payload), "status": "pending", "attempts": 0,
         "created_at": now, "updated_at": now}
        for system, entity, operation, canonical_key, key, payload in rows])


def pending(
    conn: sa.Connection, system: str | None = None, entity: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS
) -> list[OutboxRow]:
    """Rows still to send: pending, or failed with attempts left; oldest first."""
    query = sa.select(outbox).where(
        sa.or_(
            outbox.c.status == "pending",
            sa.and_(outbox.c.status == "failed", outbox.c.attempts < max_attempts),
        )
    )
    if system is not None:
        query = query.where(outbox.c.system == system)
    if entity is not None:
        query = query.where(outbox.c.entity == entity)
    return [_row(row) for row in conn.execute(query.order_by(outbox.c.created_at, outbox.c.id))]


def _update(conn: sa.Connection, outbox_id: int, **values: Any) -> None:
    result = conn.execute(sa.update(outbox).where(outbox.c.id == outbox_id).values(updated_at=utcnow(), **values))
    if result.rowcount == 0:
        raise KeyError(f"no outbox row with id {outbox_id}")


def mark_attempt(conn: sa.Connection, outbox_id: int) -> None:
    """Count an attempt before calling the vendor, so a crash mid-call still counts."""
    _update(conn, outbox_id, attempts=outbox.c.attempts + 1)


def claim_attempts(conn: sa.Connection, seen: list[tuple[int, int]]) -> set[int]:
    """Count an attempt on each (outbox id, attempts as the caller read them) whose count is still that:
    a compare-and-set, so of two pushers that read the same rows only the first sends each one.
    Returns the ids claimed."""
    now = utcnow()
    by_count: dict[int, list[int]] = {}
    for outbox_id, attempts in seen:
        by_count.setdefault(attempts, []).append(outbox_id)
    claimed: set[int] = set()
    for attempts, ids in by_count.items():  # one statement per attempt count (usually one in all)
        claimed.update(conn.execute(
            sa.update(outbox).where(outbox.c.id.in_(ids), outbox.c.attempts == attempts)
            .values(attempts=attempts + 1, updated_at=now).returning(outbox.c.id)).scalars())
    return claimed


def latest_done_payloads(conn: sa.Connection, system: str, entity: str) -> dict[str, dict[str, Any]]:
    """canonical_key -> payload of its most recent done row: what was last written (or adopted) for it."""
    query = (sa.select(outbox.c.canonical_key, outbox.c.payload)
             .where(outbox.c.system == system, outbox.c.entity == entity, outbox.c.status == "done")
             .order_by(outbox.c.id))
    return {key: payload for key, payload in conn.execute(query).tuples()}


def mark_done_many(conn: sa.Connection, done: list[tuple[int, str | None]]) -> None:
    """mark_done for many (outbox id, external id) pairs in one executemany."""
    if done:
        conn.execute(
            sa.update(outbox).where(outbox.c.id == sa.bindparam("row_id"))
            .values(status="done", external_id=sa.bindparam("ext_id"), last_error=None, updated_at=utcnow()),
            [{"row_id": outbox_id, "ext_id": external_id} for outbox_id, external_id in done])


def mark_done(conn: sa.Connection, outbox_id: int, external_id: str | None) -> None:
    _update(conn, outbox_id, status="done", external_id=external_id, last_error=None)


def mark_failed(conn: sa.Connection, outbox_id: int, error: str) -> None:
    """Record the failure; the message is scrubbed of keys/tokens/card numbers and truncated."""
    _update(conn, outbox_id, status="failed", last_error=redact_text(error)[:MAX_ERROR_CHARS])


def outbox_counts(conn: sa.Connection) -> dict[str, int]:
    """Rows per status; every status is present, zero when none."""
    counts = dict.fromkeys(("pending", "done", "failed"), 0)
    rows = conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status))
    counts.update({status: int(count) for status, count in rows.tuples()})
    return counts


def done_by_system(conn: sa.Connection) -> dict[str, int]:
    """Rows done per target system (quickbooks, stripe, salesforce), for the commands' summaries."""
    rows = conn.execute(sa.select(outbox.c.system, sa.func.count()).where(outbox.c.status == "done")
                        .group_by(outbox.c.system))
    return {system: int(count) for system, count in rows.tuples()}


def give_up(conn: sa.Connection, outbox_id: int, error: str, max_attempts: int) -> None:
    """Fail a row for good (the vendor refused it, and a resend would be refused again): its attempts are
    raised to `max_attempts`, so `pending` no longer offers it."""
    _update(conn, outbox_id, status="failed", last_error=redact_text(error)[:MAX_ERROR_CHARS],
            attempts=sa.case((outbox.c.attempts < max_attempts, max_attempts), else_=outbox.c.attempts))


def unplanned_raw(conn: sa.Connection, source_system: str, source_entity: str, system: str, entity: str
                  ) -> list[tuple[str, dict[str, Any]]]:
    """The live landed records of one source stream that have no outbox row of (system, entity) keyed by their
    external id yet, ordered by external id. Keys are compared first and only the new records' payloads are
    read, so a run costs two key scans plus what is new, not every landed payload. (Not an SQL anti-join: the
    outbox has no index on canonical_key, and SQLite ran it as a nested loop: a second push over 2,000 sent
    events took 0.54 s that way.)"""
    planned = set(conn.execute(sa.select(outbox.c.canonical_key)
                               .where(outbox.c.system == system, outbox.c.entity == entity)).scalars())
    live = sa.and_(raw_records.c.system == source_system, raw_records.c.entity == source_entity,
                   raw_records.c.deleted_at.is_(None))
    new = [external_id for external_id in conn.execute(sa.select(raw_records.c.external_id).where(live)
                                                       .order_by(raw_records.c.external_id)).scalars()
           if external_id not in planned]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(new), 500):
        query = sa.select(raw_records.c.external_id, raw_records.c.payload).where(
            live, raw_records.c.external_id.in_(new[start:start + 500]))
        found.update({row.external_id: row.payload for row in conn.execute(query)})
    return [(external_id, found[external_id]) for external_id in new]
