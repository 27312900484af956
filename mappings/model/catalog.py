"""Products and prices (Stripe is the master; QuickBooks Items and Salesforce Product2/PricebookEntry copy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mappings.model.ids import canonical_id
from mappings.money import Money


@dataclass(frozen=True)
class Product:
    ids: dict[str, str]
    name: str
    active: bool = True
    description: str | None = None
    unit_label: str | None = None
    tax_code: str | None = None
    default_price_stripe_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return canonical_id("product", self.ids)


@dataclass(frozen=True)
class PriceTier:
    up_to: int | None  # None = infinity (the last tier)
    unit_amount: Money | None = None
    flat_amount: Money | None = None


@dataclass(frozen=True)
class Recurring:
    interval: str  # day | week | month | year
    interval_count: int = 1
    usage_type: str = "licensed"  # licensed | metered
    meter: str | None = None  # billing meter id for usage-based prices


@dataclass(frozen=True)
class Price:
    ids: dict[str, str]
    product_stripe_id: str
    currency: str
    active: bool = True
    billing_scheme: str = "per_unit"  # per_unit | tiered
    unit_amount: Money | None = None  # None for tiered prices
    # Sub-minor-unit prices (e.g. 0.5 cents per API call): minor units as an exact Decimal string.
    unit_amount_decimal: Decimal | None = None
    recurring: Recurring | None = None  # None: one-time price
    tiers_mode: str | None = None  # graduated | volume
    tiers: tuple[PriceTier, ...] = ()
    tax_behavior: str = "unspecified"
    nickname: str | None = None
    lookup_key: str | None = None

    @property
    def id(self) -> str:
        return canonical_id("price", self.ids)

    @property
    def type(self) -> str:
        return "recurring" if self.recurring else "one_time"
