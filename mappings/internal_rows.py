"""Internal SQL rows <-> canonical records. Money is stored as integer minor units plus a currency column,
so no database float ever holds an amount."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from mappings.canonical import MappingError
from mappings.codecs import CURRENCY_UPPER, TEXT
from mappings.fields import Codec, Context, EntityMapping, Field
from mappings.model.party import CustomerAccount
from mappings.model.usage import UsageRecord

MAPPING_VERSION = 1


def _utc_in(value: Any, _ctx: Context) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValueError(f"not a timestamp: {value!r}")
    # SQLite hands back naive datetimes; the internal DB's convention is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTC_TIMESTAMP = Codec("timestamp (naive = UTC)", _utc_in, lambda value, _ctx: value.astimezone(UTC))


def _quantity_in(value: Any, _ctx: Context) -> Decimal:
    if isinstance(value, float):
        raise ValueError("quantity arrived as float; store it as NUMERIC or integer")
    return Decimal(str(value))


QUANTITY = Codec("NUMERIC / integer", _quantity_in, lambda value, _ctx: value)

CUSTOMER_ROW = EntityMapping("internal", "customer", "customers", MAPPING_VERSION, (
    Field("ids.internal", "id", Codec("primary key", lambda v, _c: str(v), lambda v, _c: v), required=True),
    Field("ids.salesforce", "salesforce_account_id", TEXT),
    Field("ids.stripe", "stripe_customer_id", TEXT),
    Field("name", "name", TEXT, required=True),
    Field("email", "email", TEXT),
    Field("currency", "currency", CURRENCY_UPPER),
))


def customer_from_row(row: dict) -> CustomerAccount:
    return CustomerAccount(**CUSTOMER_ROW.decode(row, {}, f"internal customer {row.get('id')}"))


def customer_to_row(account: CustomerAccount) -> dict:
    return CUSTOMER_ROW.encode(account, {})


USAGE_ROW = EntityMapping("internal", "usage_record", "usage_events", MAPPING_VERSION, (
    Field("ids.internal", "id", Codec("primary key", lambda v, _c: str(v), lambda v, _c: v), required=True),
    Field("customer_stripe_id", "stripe_customer_id", TEXT, required=True),
    Field("event_name", "event_name", TEXT, required=True),
    Field("quantity", "quantity", QUANTITY, required=True),
    Field("timestamp", "occurred_at", UTC_TIMESTAMP, required=True),
))


def usage_from_row(row: dict) -> UsageRecord:
    values = USAGE_ROW.decode(row, {}, f"usage event {row.get('id')}")
    if values["quantity"] < 0:
        raise MappingError(f"usage event {row.get('id')}: negative quantity", field="quantity", reason="negative")
    return UsageRecord(**values)


def usage_to_row(record: UsageRecord) -> dict:
    return USAGE_ROW.encode(record, {})
