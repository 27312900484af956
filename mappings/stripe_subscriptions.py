"""Stripe subscriptions <-> canonical Subscription (items carry their own current period since 2025)."""

from __future__ import annotations

from typing import Any

from mappings.canonical import MappingError
from mappings.codecs import BOOLEAN, CURRENCY_LOWER, EXPANDABLE_ID, INTEGER, METADATA, TEXT, UNIX_TIME
from mappings.fields import Codec, Context, EntityMapping, Field
from mappings.model.subscription import SUBSCRIPTION_STATUSES, Subscription, SubscriptionItem
from mappings.stripe_common import MAPPING_VERSION, currency_of, list_data, object_id, stripe_list

ITEM = EntityMapping("stripe", "subscription_item", "subscription_item", MAPPING_VERSION, (
    Field("stripe_id", "id", TEXT, required=True, writable=False),
    Field("price_stripe_id", "price", EXPANDABLE_ID, required=True),
    Field("quantity", "quantity", INTEGER),  # null for metered prices
    Field("current_period_start", "current_period_start", UNIX_TIME, writable=False),
    Field("current_period_end", "current_period_end", UNIX_TIME, writable=False),
))


def _items_in(value: Any, _ctx: Context) -> tuple[SubscriptionItem, ...]:
    return tuple(SubscriptionItem(**ITEM.decode(item, {}, f"item {item.get('id')}")) for item in value)


def _items_out(value: tuple[SubscriptionItem, ...], _ctx: Context) -> list[dict]:
    return [{"object": "subscription_item", **ITEM.encode(item, {})} for item in value]


ITEMS = Codec("subscription items (see subscription_item)", _items_in, _items_out)

SUBSCRIPTION = EntityMapping("stripe", "subscription", "subscription", MAPPING_VERSION, (
    Field("ids.stripe", "id", TEXT, required=True, writable=False),
    Field("customer_stripe_id", "customer", EXPANDABLE_ID, required=True),
    Field("status", "status", TEXT, required=True, writable=False),
    Field("currency", "currency", CURRENCY_LOWER, required=True),
    Field("items", "items.data", ITEMS),
    Field("created", "created", UNIX_TIME, required=True, writable=False),
    Field("start_date", "start_date", UNIX_TIME, writable=False),
    Field("cancel_at", "cancel_at", UNIX_TIME),
    Field("canceled_at", "canceled_at", UNIX_TIME, writable=False),
    Field("ended_at", "ended_at", UNIX_TIME, writable=False),
    Field("cancel_at_period_end", "cancel_at_period_end", BOOLEAN),
    Field("trial_end", "trial_end", UNIX_TIME),
    Field("collection_method", "collection_method", TEXT),
    Field("metadata", "metadata", METADATA),
))


def subscription_from_stripe(obj: dict) -> Subscription:
    subscription_id = object_id(obj, "subscription")
    currency = currency_of(obj, subscription_id)
    list_data(obj.get("items"), subscription_id, "items")  # refuses has_more
    values = SUBSCRIPTION.decode(obj, {"currency": currency}, subscription_id)
    if values["status"] not in SUBSCRIPTION_STATUSES:
        raise MappingError(f"{subscription_id}: unknown status {values['status']!r}", field="status",
                           reason="unknown status")
    values["items"] = values["items"] or ()
    values["cancel_at_period_end"] = bool(values["cancel_at_period_end"])
    values["collection_method"] = values["collection_method"] or "charge_automatically"
    values["metadata"] = values["metadata"] or {}
    return Subscription(**values)


def subscription_to_stripe(subscription: Subscription) -> dict:
    body = SUBSCRIPTION.encode(subscription, {"currency": subscription.currency})
    body["items"] = stripe_list(body.get("items", {}).get("data", []), "/v1/subscription_items")
    return {"object": "subscription", **body}
