"""Checks a Stripe record passes before it is landed: pure functions, one reason per rejected record.

A record that fails goes to the dead-letter table with its reason and field, and the rest of the read
lands. The checks are about shape, not business rules: an id, a currency Stripe has, whole-number
amounts (money is never a float), no negative amount where Stripe cannot produce one, and the types
the mappings rely on. What is missing or wrong is named in the reason; values that could be secret are not.
"""

from __future__ import annotations

from dataclasses import dataclass

from mappings.currencies import CURRENCIES

# Integer minor-unit fields (or Unix seconds) wherever they occur at the top level of a record.
INTEGER_FIELDS = ("created", "amount", "amount_due", "amount_paid", "amount_remaining", "subtotal", "total",
                  "unit_amount", "amount_captured", "amount_refunded", "amount_received", "amount_capturable",
                  "fee", "net", "arrival_date", "available_on", "quantity")
# Amounts Stripe never makes negative, per object (a balance transaction, an invoice total can be).
NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    "invoice": ("amount_due", "amount_paid", "amount_remaining"),
    "price": ("unit_amount",),
    "charge": ("amount", "amount_captured", "amount_refunded"),
    "payment_intent": ("amount", "amount_received", "amount_capturable"),
    "refund": ("amount",),
    "dispute": ("amount",),
    "subscription": (),
}
TEXT_FIELDS = ("name", "email", "description", "status", "number")
ID_REFERENCES = ("customer", "charge", "payment_intent", "invoice", "product", "subscription", "payout")


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def problem(entity: str, record: object) -> Problem | None:
    """Why `record` (a Stripe `entity`) must not be landed, or None when it may."""
    if not isinstance(record, dict):
        return Problem("", f"not a JSON object but {type(record).__name__}")
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        return Problem("id", "missing id" if record_id in (None, "") else f"id is {type(record_id).__name__}, "
                             "not text")
    return _currency(record) or _types(record) or _signs(entity, record)


def _currency(record: dict) -> Problem | None:
    if "currency" not in record or record["currency"] is None:
        return None
    currency = record["currency"]
    if not isinstance(currency, str):
        return Problem("currency", f"currency is {type(currency).__name__}, not an ISO code")
    if currency.upper() not in CURRENCIES:
        return Problem("currency", f"unknown currency {currency!r}")
    return None


def _types(record: dict) -> Problem | None:
    for name in INTEGER_FIELDS:
        value = record.get(name)
        if value is not None and not _is_int(value):
            return Problem(name, f"{name} is {type(value).__name__}, not an integer")
    for name in TEXT_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            return Problem(name, f"{name} is {type(value).__name__}, not text")
    for name in ID_REFERENCES:
        value = record.get(name)
        if value is not None and not isinstance(value, str | dict):
            return Problem(name, f"{name} is {type(value).__name__}, not an id")
    metadata = record.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return Problem("metadata", f"metadata is {type(metadata).__name__}, not a map")
    return None


def _signs(entity: str, record: dict) -> Problem | None:
    for name in NON_NEGATIVE.get(entity, ()):
        value = record.get(name)
        if _is_int(value) and value < 0:
            return Problem(name, f"negative {name} ({value}): Stripe never makes a {entity} {name} negative")
    return None
