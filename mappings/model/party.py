"""Customer accounts with their contacts, billing address and tax ids."""

from __future__ import annotations

from dataclasses import dataclass, field

from mappings.model.ids import canonical_id


@dataclass(frozen=True)
class Address:
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2

    def is_empty(self) -> bool:
        return not any((self.line1, self.line2, self.city, self.state, self.postal_code, self.country))


@dataclass(frozen=True)
class TaxId:
    type: str  # Stripe's tax id type, e.g. "eu_vat", "us_ein"
    value: str
    country: str | None = None
    stripe_id: str | None = None


@dataclass(frozen=True)
class Contact:
    ids: dict[str, str]
    first_name: str | None
    last_name: str
    email: str | None = None
    phone: str | None = None
    account_salesforce_id: str | None = None

    @property
    def id(self) -> str:
        return canonical_id("contact", self.ids)


@dataclass(frozen=True)
class CustomerAccount:
    """The company that buys: master Salesforce (identity), mirrored in Stripe, QuickBooks, internal DB."""

    ids: dict[str, str]  # {"salesforce": "001...", "stripe": "cus_...", "quickbooks": "58", "internal": "17"}
    name: str
    email: str | None = None
    phone: str | None = None
    currency: str | None = None
    billing_address: Address | None = None
    tax_ids: tuple[TaxId, ...] = ()
    contacts: tuple[Contact, ...] = ()
    tax_exempt: str = "none"  # Stripe's none | exempt | reverse
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return canonical_id("customer", self.ids)
