"""SOQL's relative date literals (TODAY, YESTERDAY, LAST_N_DAYS:n), resolved on the sandbox clock.

Each literal names a range of whole days [start, end) in the org's time zone (UTC here). Salesforce
compares a date or datetime field with it as a range: `= TODAY` means inside it, `> TODAY` after its
end, `>= TODAY` from its start, `< TODAY` before its start, `<= TODAY` before its end. LAST_N_DAYS:n
covers today and the n days before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PATTERN = re.compile(r"(TODAY|YESTERDAY|LAST_N_DAYS:(\d+))(?![\w:])", re.IGNORECASE)


@dataclass(frozen=True)
class RelativeDate:
    name: str  # upper-cased, as written: TODAY, YESTERDAY, LAST_N_DAYS
    days: int = 0  # n of LAST_N_DAYS:n

    def day_range(self, today: date) -> tuple[date, date]:
        """[first day, day after the last) of the range."""
        if self.name == "TODAY":
            return today, today + timedelta(days=1)
        if self.name == "YESTERDAY":
            return today - timedelta(days=1), today
        return today - timedelta(days=self.days), today + timedelta(days=1)


def parse(match: re.Match[str]) -> RelativeDate:
    return RelativeDate(match.group(1).split(":")[0].upper(), int(match.group(2) or 0))


def predicate_bounds(literal: RelativeDate, now: datetime, is_datetime: bool) -> tuple[object, object]:
    """The range's start and end as the field's type: datetimes at UTC midnight, or dates."""
    first, after = literal.day_range(now.astimezone(UTC).date())
    if not is_datetime:
        return first, after
    return (datetime(first.year, first.month, first.day, tzinfo=UTC),
            datetime(after.year, after.month, after.day, tzinfo=UTC))


def compare(operator: str, value: object, start: object, end: object) -> bool:
    """Whether a field value (date or aware datetime, never None) meets `<operator> <range>`."""
    inside = start <= value < end  # type: ignore[operator]
    if operator in ("=", "IN"):
        return inside
    if operator in ("!=", "NOT IN"):
        return not inside
    if operator == ">":
        return value >= end  # type: ignore[operator]
    if operator == ">=":
        return value >= start  # type: ignore[operator]
    if operator == "<":
        return value < start  # type: ignore[operator]
    return value < end  # type: ignore[operator]  # <=
