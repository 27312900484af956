"""The canonical model: one record per real-world thing, independent of any vendor's shape.

Mappings turn vendor dicts into these and back. Records are frozen and compare by value, so the
store can tell a changed record from an unchanged one and a second sync writes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from mappings.money import Money


class MappingError(ValueError):
    """A vendor record that cannot become a canonical record; the reason goes to the dead letters."""


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


@dataclass(frozen=True)
class InvoiceLine:
    line_id: str  # stable composite key: "<invoice id>:<line id>"
    description: str
    quantity: int
    amount: Money


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

    @property
    def currency(self) -> str:
        return self.total.currency

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
                }
                for line in self.lines
            ],
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
                )
                for line in data.get("lines", [])
            ),
        )


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
