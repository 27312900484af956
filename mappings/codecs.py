"""The value codecs the field tables use. Each says how one kind of value crosses one vendor boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from mappings.fields import Codec, Context
from mappings.money import (
    Money,
    from_quickbooks_amount,
    from_salesforce_currency,
    from_stripe_amount,
    normalize_currency,
    to_quickbooks_amount,
    to_salesforce_currency,
    to_stripe_amount,
)


def _strict_int(value: Any, what: str) -> int:
    # bool is an int in Python; a float or string is a shape we must not guess about.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return value


def _context_currency(ctx: Context) -> str:
    currency = ctx.get("currency")
    if not currency:
        raise ValueError("no currency to read the amount in")
    return currency


def _text(value: Any, _ctx: Context) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value


TEXT = Codec("text", _text, lambda value, _ctx: value)
INTEGER = Codec("integer", lambda value, _ctx: _strict_int(value, "value"), lambda value, _ctx: value)


def _boolean(value: Any, _ctx: Context) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true/false, got {value!r}")
    return value


BOOLEAN = Codec("boolean", _boolean, lambda value, _ctx: value)
# Stripe writes "usd"; canonical codes are upper-case and known to Concord.
CURRENCY_LOWER = Codec("ISO code, lower-case", lambda value, _ctx: normalize_currency(value),
                       lambda value, _ctx: value.lower())
CURRENCY_UPPER = Codec("ISO code", lambda value, _ctx: normalize_currency(value), lambda value, _ctx: value)
METADATA = Codec("string map", lambda value, _ctx: {str(k): str(v) for k, v in dict(value).items()},
                 lambda value, _ctx: dict(value))

# -- Stripe ----------------------------------------------------------------------------------------

STRIPE_MONEY = Codec(
    "integer minor units (ISK x100)",
    lambda value, ctx: from_stripe_amount(_strict_int(value, "amount"), _context_currency(ctx)),
    lambda value, _ctx: to_stripe_amount(value),
)


def _from_unix(value: Any, _ctx: Context) -> datetime:
    return datetime.fromtimestamp(_strict_int(value, "timestamp"), tz=UTC)


def _to_unix(value: datetime, _ctx: Context) -> int:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: vendor timestamps are UTC and must say so")
    return int(value.timestamp())


UNIX_TIME = Codec("Unix seconds, UTC", _from_unix, _to_unix)


def _expandable_id(value: Any, _ctx: Context) -> str:
    if isinstance(value, dict):  # expanded with expand[]=...
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected an id, got {value!r}")
    return value


EXPANDABLE_ID = Codec("id (or expanded object)", _expandable_id, lambda value, _ctx: value)


def _decimal_string(value: Any, _ctx: Context) -> Decimal:
    if isinstance(value, float):
        raise ValueError("a decimal arrived as float")
    return Decimal(str(value))


DECIMAL_STRING = Codec("decimal string", _decimal_string, lambda value, _ctx: str(value))

# -- QuickBooks ------------------------------------------------------------------------------------


def _qb_decimal(value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValueError("amount arrived as float; parse QuickBooks JSON with parse_float=Decimal")
    return Decimal(str(value))


QB_MONEY = Codec(
    "Decimal major units",
    lambda value, ctx: from_quickbooks_amount(_qb_decimal(value), _context_currency(ctx)),
    lambda value, _ctx: to_quickbooks_amount(value),
)
QB_REF = Codec("reference {value}", lambda value, _ctx: str(value["value"]), lambda value, _ctx: {"value": value})
QB_CURRENCY_REF = Codec(
    "CurrencyRef {value}",
    lambda value, _ctx: normalize_currency(value.get("value")),
    lambda value, _ctx: {"value": value},
)
QB_DATE = Codec("yyyy-mm-dd", lambda value, _ctx: date.fromisoformat(value), lambda value, _ctx: value.isoformat())
QB_EMAIL = Codec("EmailAddress {Address}", lambda value, _ctx: value, lambda value, _ctx: value)
QB_DECIMAL = Codec("Decimal", lambda value, _ctx: _qb_decimal(value), lambda value, _ctx: value)

# -- Salesforce ------------------------------------------------------------------------------------

SF_CURRENCY = Codec(
    "currency field (Decimal major units, half-even)",
    lambda value, ctx: from_salesforce_currency(_qb_decimal(value), _context_currency(ctx)),
    lambda value, _ctx: to_salesforce_currency(value),
)
SF_DATE = QB_DATE


def money_amount(value: Money) -> int:
    """Minor units of a Money (for internal SQL rows)."""
    return value.amount_minor
