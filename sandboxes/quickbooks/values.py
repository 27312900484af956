"""Parsing and formatting of QuickBooks scalar values: amounts, dates, times, references."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandboxes.quickbooks import faults
from sandboxes.quickbooks.schema import CURRENCIES

# QuickBooks writes times in the company's zone; the sandbox company sits in US Pacific (standard time).
COMPANY_ZONE = timezone(timedelta(hours=-8))


def format_time(moment: datetime) -> str:
    return moment.astimezone(COMPANY_ZONE).isoformat(timespec="seconds")


def format_response_time(moment: datetime) -> str:
    return moment.astimezone(COMPANY_ZONE).isoformat(timespec="milliseconds")


def amount(value: Any, element: str) -> Decimal:
    """A JSON number (Decimal/int) or numeric string, as QuickBooks' parser accepts both."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise faults.invalid_number(element, value)
    try:
        parsed = Decimal(str(value))
    except InvalidOperation as exc:
        raise faults.invalid_number(element, value) from exc
    if not parsed.is_finite():
        raise faults.invalid_number(element, value)
    return parsed


def money(value: Decimal, currency: str) -> Decimal:
    """Rounded to the currency's decimals, the precision QuickBooks stores."""
    decimals = CURRENCIES[currency][1]
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def txn_date(value: Any, element: str) -> str:
    if not isinstance(value, str):
        raise faults.invalid_date(element, value)
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError as exc:
        raise faults.invalid_date(element, value) from exc


def reference_id(value: Any, element: str) -> str:
    """The id of a {value, name} reference; a bare string is accepted as QuickBooks does."""
    if isinstance(value, dict):
        value = value.get("value")
    if value is None or value == "":
        raise faults.required_missing(element)
    return str(value)


def currency_ref(code: str) -> dict:
    return {"value": code, "name": CURRENCIES[code][0]}


def currency_code(value: Any) -> str:
    code = reference_id(value, "CurrencyRef")
    if code not in CURRENCIES:
        raise faults.invalid_reference("CurrencyRef", code)
    return code


def text(value: Any, element: str, maximum: int) -> str:
    if not isinstance(value, str):
        raise faults.unsupported_property(element)
    if len(value) > maximum:
        raise faults.string_length(element, maximum, len(value))
    return value
