"""Subscriptions (Stripe master) with their items and billing periods."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mappings.model.ids import canonical_id

SUBSCRIPTION_STATUSES = frozenset(
    {"incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid", "paused"}
)


@dataclass(frozen=True)
class SubscriptionItem:
    stripe_id: str
    price_stripe_id: str
    quantity: int | None  # None for metered prices (usage decides)
    current_period_start: datetime | None = None  # UTC; since 2025 the period lives on the item
    current_period_end: datetime | None = None


@dataclass(frozen=True)
class Subscription:
    ids: dict[str, str]
    customer_stripe_id: str
    status: str
    currency: str
    items: tuple[SubscriptionItem, ...]
    created: datetime
    start_date: datetime | None = None
    cancel_at: datetime | None = None
    canceled_at: datetime | None = None
    ended_at: datetime | None = None
    cancel_at_period_end: bool = False
    trial_end: datetime | None = None
    collection_method: str = "charge_automatically"
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return canonical_id("subscription", self.ids)
