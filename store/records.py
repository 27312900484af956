"""What the hub hands back: small frozen records, never SQLAlchemy rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mappings.canonical import Mismatch


@dataclass(frozen=True)
class LandCounts:
    inserted: int = 0
    updated: int = 0  # payload changed: version bumped
    unchanged: int = 0
    deleted: int = 0  # absent from a complete read: marked deleted_at


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class OutboxRow:
    id: int
    system: str
    entity: str
    operation: str
    canonical_key: str
    idempotency_key: str
    payload: dict[str, Any]
    status: str  # pending | done | failed
    attempts: int
    external_id: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DeadLetter:
    id: int
    system: str
    entity: str
    external_id: str
    reason: str
    payload: dict[str, Any] | None
    run_id: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    occurrences: int
    field: str | None = None


@dataclass(frozen=True)
class MismatchRow:
    id: int
    run_id: str
    detected_at: datetime
    alerted_at: datetime | None
    resolved_at: datetime | None
    mismatch: Mismatch


@dataclass(frozen=True)
class MismatchDelta:
    """How one reconcile changed the open set: the mismatches themselves, so callers can count or list."""

    new: tuple[Mismatch, ...] = ()
    still_open: tuple[Mismatch, ...] = ()
    resolved: tuple[Mismatch, ...] = ()


@dataclass(frozen=True)
class StoredToken:
    """An OAuth token pair; never log it or put it in metadata."""

    system: str
    account: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    version: int
    rotated_at: datetime
