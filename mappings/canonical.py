"""The canonical model: one record per real-world thing, independent of any vendor's shape.

Mappings turn vendor dicts into these and back. Records are frozen and compare by value, so the
store can tell a changed record from an unchanged one and a second sync writes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from mappings.model.catalog import Price, PriceTier, Product, Recurring
from mappings.model.ids import canonical_id
from mappings.model.party import Address, Contact, CustomerAccount, TaxId
from mappings.model.payments import Dispute, Payment, Refund
from mappings.model.payouts import BalanceTransaction, FeeDetail, Payout
from mappings.model.subscription import Subscription, SubscriptionItem
from mappings.model.tax import LineTax
from mappings.model.usage import UsageRecord
from mappings.money import Money

__all__ = [
    "Address", "BalanceTransaction", "Contact", "Customer", "CustomerAccount", "Dispute", "FeeDetail", "Invoice",
    "InvoiceLine", "LineTax", "MappingError", "Mismatch", "Payment", "Payout", "Price", "PriceTier", "Product",
    "Recurring", "Refund", "Subscription", "SubscriptionItem", "TaxId", "UsageRecord", "canonical_id",
]


class MappingError(ValueError):
    """A vendor record that cannot become a canonical record; the reason goes to the dead letters.

    `field` names the vendor field at fault (e.g. "lines.data[2].amount") when one is; str(exc) stays
    the full readable message, so callers that only log the message lose nothing.
    """

    def __init__(self, message: str, *, field: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason or message


@dataclass(frozen=True)
class Customer:
    """A customer, keyed by its Stripe id (Stripe is where billing identity lives for sync)."""

    stripe_id: str
    name: str
    email: str | None = None
    currency: str | None = None
    salesforce_id: str | None = None  # the Salesforce Account Id, from Stripe metadata

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def ids(self) -> dict[str, str]:
        found = {"stripe": self.stripe_id} if self.stripe_id else {}
        if self.salesforce_id:
            found["salesforce"] = self.salesforce_id
        return found


@dataclass(frozen=True)
class InvoiceLine:
    line_id: str  # stable composite key: "<invoice id>:<line id>"
    description: str
    quantity: int
    amount: Money  # before discounts and (exclusive) tax, as Stripe's line `amount`
    # Optional detail (added later; defaults keep the skeleton's records and hashes unchanged).
    discount: Money | None = None  # all discounts on this line, as Stripe allocated them
    taxes: tuple[LineTax, ...] = ()
    price_id: str | None = None

    def _extra_dict(self) -> dict:
        extra: dict = {}
        if self.discount is not None:
            extra["discount_minor"] = self.discount.amount_minor
        if self.taxes:
            extra["taxes"] = [tax.as_dict() for tax in self.taxes]
        if self.price_id is not None:
            extra["price_id"] = self.price_id
        return extra


@dataclass(frozen=True)
class Invoice:
    """A finalized invoice; Stripe is the master, QuickBooks the copy."""

    stripe_id: str
    customer_stripe_id: str
    number: str | None
    status: str  # open | paid | void | uncollectible | draft
    total: Money
    issued_on: date
    due_on: date | None = None
    lines: tuple[InvoiceLine, ...] = field(default_factory=tuple)
    # Optional totals (Stripe's subtotal, total discount, total tax, amount paid); None = not known.
    subtotal: Money | None = None
    discount: Money | None = None
    tax: Money | None = None
    amount_paid: Money | None = None

    @property
    def currency(self) -> str:
        return self.total.currency

    @property
    def ids(self) -> dict[str, str]:
        return {"stripe": self.stripe_id}

    @property
    def id(self) -> str:
        return canonical_id("invoice", self.ids)

    _OPTIONAL_TOTALS = ("subtotal", "discount", "tax", "amount_paid")

    def as_dict(self) -> dict:
        return {
            "stripe_id": self.stripe_id,
            "customer_stripe_id": self.customer_stripe_id,
            "number": self.number,
            "status": self.status,
            "total_minor": self.total.amount_minor,
            "currency": self.total.currency,
            "issued_on": self.issued_on.isoformat(),
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "lines": [
                {
                    "line_id": line.line_id,
                    "description": line.description,
                    "quantity": line.quantity,
                    "amount_minor": line.amount.amount_minor,
                    **line._extra_dict(),
                }
                for line in self.lines
            ],
            **{
                f"{name}_minor": getattr(self, name).amount_minor
                for name in self._OPTIONAL_TOTALS
                if getattr(self, name) is not None
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> Invoice:
        currency = data["currency"]
        return cls(
            stripe_id=data["stripe_id"],
            customer_stripe_id=data["customer_stripe_id"],
            number=data.get("number"),
            status=data["status"],
            total=Money(int(data["total_minor"]), currency),
            issued_on=date.fromisoformat(data["issued_on"]),
            due_on=date.fromisoformat(data["due_on"]) if data.get("due_on") else None,
            lines=tuple(
                InvoiceLine(
                    line_id=line["line_id"],
                    description=line["description"],
                    quantity=int(line["quantity"]),
                    amount=Money(int(line["amount_minor"]), currency),
                    discount=_money_or_none(line.get("discount_minor"), currency),
                    taxes=tuple(LineTax.from_dict(tax, currency) for tax in line.get("taxes", [])),
                    price_id=line.get("price_id"),
                )
                for line in data.get("lines", [])
            ),
            **{name: _money_or_none(data.get(f"{name}_minor"), currency) for name in cls._OPTIONAL_TOTALS},
        )


def _money_or_none(value: int | str | None, currency: str) -> Money | None:
    return None if value is None else Money(int(value), currency)


@dataclass(frozen=True)
class Mismatch:
    """One disagreement between systems, found by reconciliation.

    `kind` names the drift: missing_in_quickbooks, extra_in_quickbooks, amount, currency, status.
    `ids` holds the record's id in each system (None where it has none). `expected` is the master's
    value, `actual` the copy's; both are strings so every backend stores them alike.
    """

    entity: str
    kind: str
    key: str  # canonical key (for invoices: the Stripe id; for extras: the copy's own id)
    ids: dict[str, str | None]
    field: str | None = None
    expected: str | None = None
    actual: str | None = None

    def identity(self) -> tuple[str, str, str, str | None]:
        """Same identity across runs means the same drift: alert once, not on every reconcile."""
        return (self.entity, self.kind, self.key, self.field)

    def as_dict(self) -> dict:
        return asdict(self)
