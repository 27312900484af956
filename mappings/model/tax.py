"""Tax and discount amounts as they sit on one invoice line."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mappings.money import Money


@dataclass(frozen=True)
class LineTax:
    amount: Money  # as the gateway rounded it, per line
    taxable_amount: Money  # the base it was computed on (line amount less discounts)
    rate_id: str | None = None  # Stripe txr_ id, when a tax rate object was used
    percentage: Decimal | None = None  # e.g. Decimal("19") for 19 %
    inclusive: bool = False  # included in the line amount (VAT-inclusive prices) or added on top

    def as_dict(self) -> dict:
        return {
            "amount_minor": self.amount.amount_minor,
            "taxable_minor": self.taxable_amount.amount_minor,
            "rate_id": self.rate_id,
            "percentage": None if self.percentage is None else str(self.percentage),
            "inclusive": self.inclusive,
        }

    @classmethod
    def from_dict(cls, data: dict, currency: str) -> LineTax:
        return cls(
            amount=Money(int(data["amount_minor"]), currency),
            taxable_amount=Money(int(data["taxable_minor"]), currency),
            rate_id=data.get("rate_id"),
            percentage=None if data.get("percentage") is None else Decimal(data["percentage"]),
            inclusive=bool(data.get("inclusive")),
        )
