"""Internal usage events <-> Stripe billing meter events (the identifier is the internal event id,
so Stripe deduplicates a resent event)."""

from __future__ import annotations

from decimal import Decimal

from mappings.canonical import MappingError
from mappings.codecs import DECIMAL_STRING, TEXT, UNIX_TIME
from mappings.fields import EntityMapping, Field
from mappings.model.usage import UsageRecord
from mappings.stripe_common import MAPPING_VERSION

METER_EVENT = EntityMapping("stripe", "usage_record", "billing.meter_event", MAPPING_VERSION, (
    Field("ids.internal", "identifier", TEXT, required=True),
    Field("event_name", "event_name", TEXT, required=True),
    Field("customer_stripe_id", "payload.stripe_customer_id", TEXT, required=True),
    Field("quantity", "payload.value", DECIMAL_STRING, required=True),
    Field("timestamp", "timestamp", UNIX_TIME, required=True),
))


def usage_from_meter_event(obj: dict) -> UsageRecord:
    where = f"meter event {obj.get('identifier')}"
    if obj.get("object") not in (None, "billing.meter_event"):
        raise MappingError(f"{where}: not a billing.meter_event", field="object")
    values = METER_EVENT.decode(obj, {}, where)
    if values["quantity"] < Decimal(0):
        raise MappingError(f"{where}: negative usage {values['quantity']}", field="payload.value", reason="negative")
    return UsageRecord(**values)


def usage_to_meter_event(record: UsageRecord) -> dict:
    return {"object": "billing.meter_event", **METER_EVENT.encode(record, {})}
