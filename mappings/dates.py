"""Vendor timestamps are UTC; accounting dates are the calendar day in the company's timezone.

A Stripe payment at 2026-03-01T02:00Z belongs to 2026-02-28 for a company in America/Los_Angeles:
the books close by local day, so every accounting date goes through CompanyCalendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def utc_from_unix(seconds: int) -> datetime:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise ValueError(f"a Unix timestamp is an integer, got {seconds!r}")
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True)
class CompanyCalendar:
    timezone: str  # IANA name, configured explicitly (e.g. "America/Los_Angeles"); never the host's zone

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def accounting_date(self, moment: datetime | int) -> date:
        """The company's calendar day of a vendor timestamp (aware datetime or Unix seconds)."""
        if isinstance(moment, int) and not isinstance(moment, bool):
            moment = utc_from_unix(moment)
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise ValueError(f"vendor timestamps must be timezone-aware, got {moment!r}")
        return moment.astimezone(self.zone).date()


UTC_CALENDAR = CompanyCalendar("UTC")
