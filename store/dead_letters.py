"""Dead letters: records that could not be processed, one row per (record, reason), with a count."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from store.hashing import to_jsonable
from store.records import DeadLetter
from store.redact import redact_payload, redact_text
from store.schema import dead_letters
from store.timeutil import as_utc, utcnow

# Reasons are part of a unique key; PostgreSQL b-tree entries must stay small.
MAX_REASON_CHARS = 1000


def clean_reason(reason: str) -> str:
    return redact_text(reason)[:MAX_REASON_CHARS]


def _where(system: str, entity: str, external_id: str, reason: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        dead_letters.c.system == system,
        dead_letters.c.entity == entity,
        dead_letters.c.external_id == external_id,
        dead_letters.c.reason == reason,
    )


def bump_dead_letter(
    conn: sa.Connection, system: str, entity: str, external_id: str, reason: str, payload: Any, run_id: str | None,
    field: str | None = None,
) -> bool:
    """Count one more occurrence of a known dead letter; False when there is none yet."""
    result = conn.execute(
        sa.update(dead_letters)
        .where(_where(system, entity, external_id, reason))
        .values(
            occurrences=dead_letters.c.occurrences + 1,
            last_seen_at=utcnow(),
            payload=payload,
            run_id=run_id,
            field=field,
        )
    )
    return result.rowcount > 0


def insert_dead_letter(
    conn: sa.Connection, system: str, entity: str, external_id: str, reason: str, payload: Any, run_id: str | None,
    field: str | None = None,
) -> None:
    """Raises IntegrityError if a concurrent writer inserted the same (record, reason) first."""
    now = utcnow()
    conn.execute(
        sa.insert(dead_letters).values(
            system=system,
            entity=entity,
            external_id=external_id,
            reason=reason,
            payload=payload,
            run_id=run_id,
            first_seen_at=now,
            last_seen_at=now,
            occurrences=1,
            field=field,
        )
    )


def safe_payload(payload: Any) -> Any:
    """JSON-native and scrubbed of secrets and card numbers."""
    return None if payload is None else redact_payload(to_jsonable(payload))


def list_dead_letters(conn: sa.Connection, system: str | None = None, entity: str | None = None) -> list[DeadLetter]:
    query = sa.select(dead_letters)
    if system is not None:
        query = query.where(dead_letters.c.system == system)
    if entity is not None:
        query = query.where(dead_letters.c.entity == entity)
    result = []
    for row in conn.execute(query.order_by(dead_letters.c.id)):
        values = row._asdict()
        values["first_seen_at"] = as_utc(values["first_seen_at"])
        values["last_seen_at"] = as_utc(values["last_seen_at"])
        result.append(DeadLetter(**values))
    return result


def clear_dead_letter(conn: sa.Connection, system: str, entity: str, external_id: str) -> int:
    """Drop every dead letter of a record that has now gone through; returns how many were removed."""
    result = conn.execute(
        sa.delete(dead_letters).where(
            dead_letters.c.system == system,
            dead_letters.c.entity == entity,
            dead_letters.c.external_id == external_id,
        )
    )
    return result.rowcount
