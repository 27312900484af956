"""Incremental-read cursors: (timestamp, id) pairs, and the change-log retention gap check.

A cursor is the (unix seconds, id) of the last record a stream has committed. Records sharing the
cursor's second are compared by id, so a page boundary falling inside a burst of same-second updates
neither skips nor repeats a record. Pure functions only: every connector uses the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

Cursor = tuple[int, str]

DAY = 86_400
# How far back each vendor's change log reaches (their published retention).
STRIPE_EVENTS_RETENTION = 30 * DAY
QUICKBOOKS_CDC_RETENTION = 30 * DAY
SALESFORCE_GET_DELETED_RETENTION = 15 * DAY


class CursorGap(Exception):
    """The cursor is older than the vendor keeps its change log: an incremental read would silently miss
    changes (deletes above all). The caller backfills from the list endpoints and marks the entity for
    reconciliation."""

    def __init__(self, system: str, stream: str, cursor_ts: int, vendor_now_ts: int, retention_seconds: int) -> None:
        self.system, self.stream = system, stream
        self.cursor_ts, self.vendor_now_ts, self.retention_seconds = cursor_ts, vendor_now_ts, retention_seconds
        age_days = (vendor_now_ts - cursor_ts) / DAY
        super().__init__(f"{system} {stream}: cursor is {age_days:.1f} days old but the change log keeps only "
                         f"{retention_seconds // DAY} days; backfill from the list endpoint and reconcile")


def is_gap(cursor_ts: int, vendor_now_ts: int, retention_seconds: int, safety_seconds: int = 3600) -> bool:
    """True when changes since `cursor_ts` may already have left the vendor's change log.

    `safety_seconds` of margin: the read itself takes time, and our clock reading of the vendor is a
    response's time, not the moment the vendor evaluates the window.
    """
    return vendor_now_ts - cursor_ts > retention_seconds - safety_seconds


def id_key(record_id: str) -> tuple[int, int | str]:
    """Ids in the vendor's order: numeric ids (QuickBooks) by value, others (Stripe, Salesforce) as text.
    The empty id sorts before every id: (t, "") covers everything strictly before t and nothing at t."""
    text = str(record_id)
    if not text:
        return (-1, 0)
    return (0, int(text)) if text.isdigit() else (1, text)


def cursor_key(cursor: Cursor) -> tuple[int, tuple[int, int | str]]:
    return cursor[0], id_key(cursor[1])


def is_after(position: Cursor, cursor: Cursor | None) -> bool:
    """True when a record at `position` is newer than what `cursor` covers (None covers nothing)."""
    return cursor is None or cursor_key(position) > cursor_key(cursor)


def latest(*cursors: Cursor | None) -> Cursor | None:
    """The newest of the given cursors (None where none is given)."""
    present = [cursor for cursor in cursors if cursor is not None]
    return max(present, key=cursor_key) if present else None


def epoch_seconds(text: str) -> int:
    """Unix seconds of an ISO-8601 time (QuickBooks' `2026-01-11T10:00:00-08:00`, Salesforce's
    `2026-01-11T18:00:00.000+0000`, or a `Z` suffix); a time without an offset is taken as UTC."""
    cleaned = text.strip().replace("Z", "+00:00")
    if len(cleaned) > 5 and cleaned[-5] in "+-" and cleaned[-4:].isdigit():  # +0000 -> +00:00
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


@dataclass
class Change:
    """One record from a change feed: the vendor's object (or a tombstone) and its cursor position."""

    position: Cursor
    record: dict
    deleted: bool = False


class ChangeFeed:
    """The changes after a cursor, as an iterable of Change; once fully consumed, `cursor` is what to commit.

    The committed cursor is the newest position read, or the vendor's own "read up to" time when that is
    newer (`vendor_floor`, set by the reader): otherwise a quiet stream's cursor would fall behind the
    vendor's change-log retention and look like a gap although nothing was missed. Records reached in
    a page may arrive out of (timestamp, id) order inside a tie, so a cursor is only safe to commit
    when `complete` is True.
    """

    def __init__(self, since: Cursor | None, fields: list[str] | None = None) -> None:
        self.since = since
        self.fields: list[str] = list(fields or [])
        self.cursor: Cursor | None = since
        self.vendor_floor: Cursor | None = None
        self.final_cursor: Cursor | None = None  # set by a reader that decides the committed cursor itself
        self.complete = False
        self._source: Iterable[Change] = ()

    def feed_from(self, source: Iterable[Change]) -> ChangeFeed:
        self._source = source
        return self

    def __iter__(self) -> Iterator[Change]:
        for change in self._source:
            self.cursor = latest(self.cursor, change.position)
            yield change
        self.cursor = self.final_cursor or latest(self.cursor, self.vendor_floor)
        self.complete = True
