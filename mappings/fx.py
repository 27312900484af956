"""Foreign exchange as the payment gateway recorded it: the rate on the Stripe balance transaction.

A daily or market rate would disagree with what Stripe actually credited, and the books must match
the bank. So a conversion is only ever the one Stripe applied: `exchange_rate` on the balance
transaction, where amount_in_presentment_currency x exchange_rate = amount_in_settlement_currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mappings.money import STRIPE_ROUNDING, Money, normalize_currency, round_to_minor


@dataclass(frozen=True)
class FxRate:
    source_currency: str  # the charge's (presentment) currency
    target_currency: str  # the balance's (settlement) currency
    rate: Decimal
    balance_transaction_id: str  # where the rate was recorded; never a rate from anywhere else

    def __post_init__(self) -> None:
        if not isinstance(self.rate, Decimal) or not self.rate.is_finite() or self.rate <= 0:
            raise ValueError(f"exchange rate must be a positive Decimal, got {self.rate!r}")
        object.__setattr__(self, "source_currency", normalize_currency(self.source_currency))
        object.__setattr__(self, "target_currency", normalize_currency(self.target_currency))

    def convert(self, money: Money, rounding: str = STRIPE_ROUNDING) -> Money:
        """Presentment amount to settlement amount, as Stripe would compute it (for checks and reports:
        the settled amount itself always comes from the balance transaction)."""
        if money.currency != self.source_currency:
            raise ValueError(f"rate {self.source_currency}->{self.target_currency} cannot convert {money.currency}")
        return round_to_minor(money.to_decimal() * self.rate, self.target_currency, rounding)


def rate_from_stripe(value: object) -> Decimal:
    """Stripe sends exchange_rate as a JSON number. Read with parse_float=Decimal it is already exact;
    from the SDK it is a float, whose shortest repr is the decimal Stripe wrote, so str() recovers it."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an exchange rate: {value!r}")
    try:
        rate = Decimal(str(value))  # str(): never Decimal(float), which would keep the binary error
    except InvalidOperation as exc:
        raise ValueError(f"not an exchange rate: {value!r}") from exc
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"not an exchange rate: {value!r}")
    return rate
