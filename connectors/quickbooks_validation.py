"""Checks a QuickBooks record passes before it is landed: pure functions, one reason per rejected record.

A record that fails goes to the dead-letter table with its reason and field, and the rest of the read
lands. The checks are about shape, not business rules: an Id and a LastUpdatedTime (the cursor is built
from them), a currency that exists, money as exact numbers (the connector parses JSON numbers as Decimal,
so a float or a text here means the record was mangled on the way), no negative amount where QuickBooks
cannot produce one, and the types the mappings rely on. Values that could be secret are never quoted.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from connectors.stripe_validation import Problem
from mappings.currencies import CURRENCIES

UPDATED = ("MetaData", "LastUpdatedTime")
# Money and rates wherever they occur at the top level of a record.
NUMBER_FIELDS = ("TotalAmt", "Balance", "BalanceWithJobs", "HomeTotalAmt", "HomeBalance", "UnappliedAmt",
                 "ExchangeRate")
# Amounts QuickBooks never makes negative, per entity. An invoice's total and open balance are never below
# zero (a credit is a CreditMemo), nor is what a payment received or left unapplied; a customer's Balance
# is negative when the customer holds a credit, so it has no rule.
NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    "Invoice": ("TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance"),
    "Payment": ("TotalAmt", "UnappliedAmt"),
    "CreditMemo": ("TotalAmt", "Balance"),
    "RefundReceipt": ("TotalAmt",),
}
TEXT_FIELDS = ("DisplayName", "DocNumber", "PrivateNote", "TxnDate", "DueDate", "SyncToken")
REFERENCES = ("CustomerRef", "CurrencyRef")  # {"value": ..., "name": ...}
LIST_FIELDS = ("Line", "LinkedTxn")


def _is_number(value: object) -> bool:
    return isinstance(value, Decimal | int) and not isinstance(value, bool)


# (fields, what each must be, the test of it)
_KINDS: tuple[tuple[tuple[str, ...], str, Callable[[object], bool]], ...] = (
    (NUMBER_FIELDS, "an exact number", _is_number),
    (TEXT_FIELDS, "text", lambda value: isinstance(value, str)),
    (LIST_FIELDS, "a list", lambda value: isinstance(value, list)),
)


def problem(entity: str, record: object) -> Problem | None:
    """Why `record` (a QuickBooks `entity`, e.g. "Invoice") must not be landed, or None when it may."""
    if not isinstance(record, dict):
        return Problem("", f"not a JSON object but {type(record).__name__}")
    record_id = record.get("Id")
    if not isinstance(record_id, str) or not record_id:
        return Problem("Id", "missing Id" if record_id in (None, "") else f"Id is {type(record_id).__name__}, "
                             "not text")
    metadata = record.get("MetaData")
    if not isinstance(metadata, dict) or not isinstance(metadata.get(UPDATED[1]), str):
        return Problem(".".join(UPDATED), "missing MetaData.LastUpdatedTime")
    return _references(record) or _currency(record) or _types(record) or _signs(entity, record)


def _references(record: dict) -> Problem | None:
    for name in REFERENCES:
        ref = record.get(name)
        if ref is not None and (not isinstance(ref, dict) or not isinstance(ref.get("value"), str)):
            return Problem(name, f"{name} is {type(ref).__name__}, not a reference with a text value")
    return None


def _currency(record: dict) -> Problem | None:
    ref = record.get("CurrencyRef")
    if ref is None:
        return None  # multicurrency off: the home currency
    if ref["value"].upper() not in CURRENCIES:
        return Problem("CurrencyRef", f"unknown currency {ref['value']!r}")
    return None


def _types(record: dict) -> Problem | None:
    for names, kind, fits in _KINDS:
        for name in names:
            value = record.get(name)
            if value is not None and not fits(value):
                return Problem(name, f"{name} is {type(value).__name__}, not {kind}")
    return None


def _signs(entity: str, record: dict) -> Problem | None:
    for name in NON_NEGATIVE.get(entity, ()):
        value = record.get(name)
        if _is_number(value) and value < 0:
            return Problem(name, f"negative {name} ({value}): QuickBooks never makes a {entity} {name} negative")
    return None
