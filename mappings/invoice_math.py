"""Invoice arithmetic in integer minor units, reproducing the gateway's per-line rounding.

Stripe computes tax per line on the line's taxable amount (amount less its discounts) and rounds each
line's tax to the minor unit, half up; the invoice tax is the sum of the rounded line taxes, never the
tax of the summed lines. Copying an invoice elsewhere must carry those rounded line taxes, or the copy's
total drifts by a cent. Pure integer arithmetic here; tests cross-check it against Decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (Decimal's ROUND_HALF_UP), in integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def tax_on(taxable_minor: int, percentage: Decimal) -> int:
    """Exclusive tax of one line, rounded half up to the minor unit (e.g. 19 % of 1234 cents = 234)."""
    numerator, exponent = _as_integer_ratio(percentage)
    return divide_half_up(taxable_minor * numerator, 100 * 10**exponent)


def _as_integer_ratio(percentage: Decimal) -> tuple[int, int]:
    """Decimal("8.875") -> (8875, 3): the percentage as an integer over a power of ten."""
    sign, digits, exp = percentage.as_tuple()
    if not isinstance(exp, int):
        raise ValueError(f"not a finite percentage: {percentage}")
    value = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exp >= 0:
        return value * 10**exp, 0
    return value, -exp


@dataclass(frozen=True)
class LineInput:
    quantity: int
    unit_amount_minor: int
    discount_minor: int = 0
    tax_percentage: Decimal | None = None  # exclusive tax rate in percent


@dataclass(frozen=True)
class InvoiceTotals:
    subtotal: int  # sum of line amounts (quantity x unit amount)
    discount: int
    tax: int  # sum of per-line rounded taxes
    total: int  # subtotal - discount + tax
    line_taxes: tuple[int, ...]


def invoice_totals(lines: Sequence[LineInput]) -> InvoiceTotals:
    amounts = [line.quantity * line.unit_amount_minor for line in lines]
    taxes = tuple(
        tax_on(amount - line.discount_minor, line.tax_percentage) if line.tax_percentage is not None else 0
        for amount, line in zip(amounts, lines, strict=True)
    )
    subtotal = sum(amounts)
    discount = sum(line.discount_minor for line in lines)
    return InvoiceTotals(subtotal, discount, sum(taxes), subtotal - discount + sum(taxes), taxes)
