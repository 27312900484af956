"""getUpdated and getDeleted: which records of an sObject changed or went away in a time window.

Salesforce's rules, kept here: start and end are ISO 8601 and rounded down to the minute; the
window may not start more than 30 days back; `latestDateCovered` is the end of the window or now,
whichever is earlier; deleted records are reported while they sit in the recycle bin (15 days), and
`earliestDateAvailable` is the newest deletion already purged (or when the org began).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sandboxes.salesforce.errors import ApiError
from sandboxes.salesforce.seeding import format_datetime
from sandboxes.salesforce.state import SalesforceState

MAX_WINDOW_AGE = timedelta(days=30)
MAX_IDS = 600_000


def get_updated(state: SalesforceState, sobject: str, start_text: str | None, end_text: str | None) -> dict[str, Any]:
    start, covered = _window(state, start_text, end_text)
    ids = state.updated_ids(sobject, start, covered)
    if len(ids) > MAX_IDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", f"too many ids: more than {MAX_IDS} records changed in the window")
    return {"ids": ids, "latestDateCovered": format_datetime(covered)}


def get_deleted(state: SalesforceState, sobject: str, start_text: str | None, end_text: str | None) -> dict[str, Any]:
    start, covered = _window(state, start_text, end_text)
    records = state.deleted_records(sobject, start, covered)  # purges the recycle bin first
    return {
        "deletedRecords": [{"id": record_id, "deletedDate": format_datetime(when)} for record_id, when in records],
        "earliestDateAvailable": format_datetime(_minute(state.earliest_deleted_available)),
        "latestDateCovered": format_datetime(covered),
    }


def _window(state: SalesforceState, start_text: str | None, end_text: str | None) -> tuple[datetime, datetime]:
    """(start, latest date covered), both whole minutes."""
    if not start_text or not end_text:
        raise ApiError(400, "MISSING_ARGUMENT", "start and end are both required")
    start, end = _minute(_parse(start_text, "start")), _minute(_parse(end_text, "end"))
    now = state.clock.now()
    if start >= end:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate")
    if start < now - MAX_WINDOW_AGE:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
    return start, min(end, _minute(now))


def _parse(text: str, name: str) -> datetime:
    # An unencoded '+' in a query string arrives as a space.
    cleaned = text.strip().replace(" ", "+").replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError as exc:
        raise ApiError(400, "INVALID_REPLICATION_DATE", f"{name} is not a valid ISO 8601 date: {text}") from exc
    if moment.tzinfo is None:
        raise ApiError(400, "INVALID_REPLICATION_DATE", f"{name} must carry a time zone offset: {text}")
    return moment


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)
