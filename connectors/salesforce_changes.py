"""Salesforce incremental reads: queryAll ordered by (SystemModstamp, Id) from a cursor, plus getDeleted.

The cursor of a Salesforce stream is (SystemModstamp in epoch MILLISECONDS, Id): SystemModstamp has
millisecond precision and SOQL orders by it and then Id, so the cursor is exactly the server's order
and `SystemModstamp > t OR (SystemModstamp = t AND Id > id)` resumes after the last record read, even
inside a burst of writes that share a millisecond and straddle a page boundary.

queryAll returns soft-deleted rows (IsDeleted = true) while they sit in the recycle bin; getDeleted
also reports deletions whose rows are gone from it. Salesforce keeps deletions 15 days: an older
cursor is a CursorGap, decided by Salesforce's own clock (getDeleted's latestDateCovered) and
earliestDateAvailable (the newest purge), never by ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from simple_salesforce import SalesforceMalformedRequest, format_soql

from connectors.cursors import (
    SALESFORCE_GET_DELETED_RETENTION,
    Change,
    ChangeFeed,
    Cursor,
    CursorGap,
    cursor_key,
    epoch_seconds,
    is_gap,
)

REQUIRED_FIELDS = ("Id", "SystemModstamp", "IsDeleted")


def epoch_millis(text: str) -> int:
    """Epoch milliseconds of Salesforce's `2026-01-11T18:00:00.123+0000`."""
    cleaned = text.strip().replace("Z", "+00:00")
    if len(cleaned) > 5 and cleaned[-5] in "+-" and cleaned[-4:].isdigit():
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]
    moment = datetime.fromisoformat(cleaned)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def millis_to_datetime(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


def soql_datetime(millis: int) -> str:
    """A SOQL dateTime literal with milliseconds: 2026-01-11T18:00:00.123Z."""
    return millis_to_datetime(millis).strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


def changed_soql(sobject: str, fields: list[str], since: Cursor | None) -> str:
    chosen = list(fields) + [name for name in REQUIRED_FIELDS if name not in fields]
    if since is None:
        return format_soql("SELECT {:literal} FROM {:literal} ORDER BY SystemModstamp, Id", ", ".join(chosen), sobject)
    # format_soql would drop the milliseconds of a datetime; the cursor needs them, so the literal is ours.
    moment = soql_datetime(since[0])
    if not since[1]:  # (t, ""): everything before t was read, nothing at t
        return format_soql("SELECT {:literal} FROM {:literal} WHERE SystemModstamp >= {:literal}"
                           " ORDER BY SystemModstamp, Id", ", ".join(chosen), sobject, moment)
    return format_soql(
        "SELECT {fields:literal} FROM {sobject:literal}"
        " WHERE SystemModstamp > {since:literal} OR (SystemModstamp = {since:literal} AND Id > {after_id})"
        " ORDER BY SystemModstamp, Id",
        fields=", ".join(chosen), sobject=sobject, since=moment, after_id=since[1],
    )


def vendor_now_millis(get_deleted: Callable[[datetime, datetime], dict]) -> int | None:
    """Salesforce's clock (to the minute) from a getDeleted of the last day; None if it refuses the window."""
    now = datetime.now(UTC)
    try:
        answer = get_deleted(now - timedelta(days=1), now + timedelta(days=1))
    except SalesforceMalformedRequest:
        return None
    return epoch_seconds(answer["latestDateCovered"]) * 1000


def deleted_since(get_deleted: Callable[[datetime, datetime], dict], sobject: str, since: Cursor,
                  feed: ChangeFeed | None = None) -> list[Change]:
    """getDeleted from the cursor on, as tombstones; raises CursorGap when Salesforce no longer has them all.
    Sets `feed.vendor_floor` to Salesforce's latestDateCovered: the query that follows sees every record
    stamped before it."""
    since_seconds = since[0] // 1000
    start = millis_to_datetime(since[0])
    try:
        # A window reaching into the future is cut at Salesforce's now: latestDateCovered is its clock.
        answer = get_deleted(start, start + timedelta(days=30))
    except SalesforceMalformedRequest as error:
        if "INVALID_REPLICATION_DATE" not in str(error):
            raise
        now = int(datetime.now(UTC).timestamp())
        raise CursorGap("salesforce", sobject, since_seconds, now, SALESFORCE_GET_DELETED_RETENTION) from error
    vendor_now = epoch_seconds(answer["latestDateCovered"])
    purged_until = epoch_seconds(answer["earliestDateAvailable"])
    if since_seconds < purged_until or is_gap(since_seconds, vendor_now, SALESFORCE_GET_DELETED_RETENTION):
        raise CursorGap("salesforce", sobject, since_seconds, vendor_now, SALESFORCE_GET_DELETED_RETENTION)
    if feed is not None:
        feed.vendor_floor = (vendor_now * 1000, "")
    tombstones = []
    for entry in answer.get("deletedRecords", []):
        at = (epoch_millis(entry["deletedDate"]), entry["id"])
        if cursor_key(at) > cursor_key(since):
            tombstones.append(Change(at, {"Id": entry["id"], "IsDeleted": True, "deletedDate": entry["deletedDate"]},
                                     deleted=True))
    return tombstones


def iter_changes(query: Callable[[str], Iterator[dict[str, Any]]], tombstones: list[Change], sobject: str,
                 fields: list[str], since: Cursor | None) -> Iterator[Change]:
    """queryAll rows after `since` in (SystemModstamp, Id) order, then getDeleted tombstones it did not show."""
    return changes_from(query(changed_soql(sobject, fields, since)), tombstones)


def changes_from(records: Iterable[dict[str, Any]], tombstones: list[Change]) -> Iterator[Change]:
    """Records (with Id, SystemModstamp, IsDeleted) as Changes, then the tombstones they did not show."""
    deleted_seen: set[str] = set()
    for record in records:
        deleted = bool(record.get("IsDeleted"))
        if deleted:
            deleted_seen.add(record["Id"])
        yield Change((epoch_millis(record["SystemModstamp"]), record["Id"]), record, deleted=deleted)
    for tombstone in tombstones:
        if tombstone.record["Id"] not in deleted_seen:
            yield tombstone
