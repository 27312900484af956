"""What Stripe's billing meter events accept, decided before any call (pure functions).

An internal usage event becomes one meter event whose `identifier` is the internal event id. Stripe takes
an event only if its timestamp lies within the past 35 days and at most 5 minutes ahead, its `value` is a
whole number, and its names fit in 100 characters; a customer Stripe does not know is accepted by the call
and only reported later (asynchronously, in the meter's error reports), so Concord checks the customer
against the Stripe customers it has landed instead. An event refused here is dead-lettered; one from the
future simply waits for its time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from mappings.canonical import MappingError
from mappings.internal_rows import usage_from_row

PAST_LIMIT = timedelta(days=35)
FUTURE_LIMIT = timedelta(minutes=5)
MAX_NAME_LENGTH = 100  # event_name and identifier
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MeterEvent:
    """One meter event as it goes on the wire; stored in the outbox row so every retry sends the same."""

    identifier: str
    event_name: str
    stripe_customer_id: str
    value: int
    timestamp: int  # Unix seconds

    def as_payload(self) -> dict:
        return {"identifier": self.identifier, "event_name": self.event_name,
                "stripe_customer_id": self.stripe_customer_id, "value": self.value, "timestamp": self.timestamp}

    @classmethod
    def from_payload(cls, payload: dict) -> MeterEvent:
        return cls(**payload)

    def stripe_payload(self) -> dict[str, str]:
        """Stripe's `payload`: the default customer_mapping and value_settings keys, values as text."""
        return {"stripe_customer_id": self.stripe_customer_id, "value": str(self.value)}


@dataclass(frozen=True)
class Rejection:
    field: str | None  # the internal column at fault, when one is
    reason: str


@dataclass(frozen=True)
class Wait:
    reason: str


def unix_seconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(seconds=1)  # integer arithmetic: no float on the way


def _whole(quantity: Decimal) -> int | None:
    return int(quantity) if quantity == quantity.to_integral_value() else None


def meter_event_for(row: dict, known_customers: set[str], now: datetime) -> MeterEvent | Rejection | Wait:
    """The meter event for one landed internal usage row, or why it cannot (yet) be sent."""
    try:
        record = usage_from_row(row)
    except MappingError as error:
        return Rejection(error.field, str(error))
    except (TypeError, ValueError) as error:
        return Rejection(None, f"usage event {row.get('id')}: {error}")
    event_id = record.ids["internal"]
    value = _whole(record.quantity)
    if value is None:
        return Rejection("quantity", f"usage event {event_id}: quantity {record.quantity} is not a whole number, "
                                     "and Stripe meter event values must be")
    for field, text in (("event_name", record.event_name), ("id", event_id)):
        if not text or len(text) > MAX_NAME_LENGTH:
            return Rejection(field, f"usage event {event_id}: {field} must be 1 to {MAX_NAME_LENGTH} characters")
    if record.customer_stripe_id not in known_customers:
        return Rejection("stripe_customer_id", f"usage event {event_id}: customer {record.customer_stripe_id} is "
                                               "not a Stripe customer Concord knows")
    if record.timestamp < now - PAST_LIMIT:
        return Rejection("occurred_at", f"usage event {event_id}: occurred {record.timestamp.isoformat()}, more "
                                        "than 35 days ago: Stripe no longer accepts meter events that old")
    if record.timestamp > now + FUTURE_LIMIT:
        return Wait(f"usage event {event_id} occurs {record.timestamp.isoformat()}, more than 5 minutes ahead")
    return MeterEvent(identifier=event_id, event_name=record.event_name,
                      stripe_customer_id=record.customer_stripe_id, value=value,
                      timestamp=unix_seconds(record.timestamp))
