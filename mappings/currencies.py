"""One table of currencies: how many decimals each has, and where Stripe's API departs from that.

Canonical `Money` counts in the currency's real minor unit (`exponent`). Stripe mostly agrees, with
special cases (https://docs.stripe.com/currencies#special-cases):

- zero-decimal currencies (JPY, KRW, ...): the API amount is whole units;
- three-decimal currencies (BHD, JOD, KWD, OMR, TND): the API takes fils/baisa, but charges must be
  divisible by 10 (the last digit 0) for Stripe's payment partners;
- ISK: effectively zero-decimal since 2023, yet the API still represents it with two decimals
  (100 = 1 krona) and amounts must be divisible by 100;
- HUF, TWD: two-decimal in the API, but payouts must be whole units (divisible by 100);
- MGA, UGX: zero-decimal in Stripe (ISO lists MGA with 2 decimals, but its subunit is 1/5 and unused).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CurrencySpec:
    code: str
    exponent: int  # decimals of the canonical minor unit (what Money.amount_minor counts)
    stripe_exponent: int  # decimals of Stripe's API integer amounts
    stripe_charge_multiple: int = 1  # Stripe API amounts for charges/prices must be a multiple of this
    stripe_payout_multiple: int = 1  # Stripe API amounts for payouts must be a multiple of this

    @property
    def stripe_factor(self) -> int:
        """Stripe API amount = canonical minor units * stripe_factor (ISK: 100; everything else: 1)."""
        return 10 ** (self.stripe_exponent - self.exponent)


STRIPE_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

_TWO_DECIMAL = (
    "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "MXN", "BRL", "INR",
    "SGD", "HKD", "ZAR", "AED", "ILS", "CNY", "THB", "MYR", "PHP", "IDR",
)
# Zero-decimal in ISO 4217 but not offered by Stripe; kept so QuickBooks/Salesforce records in them map.
_ISO_ONLY_ZERO_DECIMAL = ("UYI",)
# Three-decimal in ISO 4217 but not offered by Stripe.
_ISO_ONLY_THREE_DECIMAL = ("IQD", "LYD")


def _build() -> dict[str, CurrencySpec]:
    table: dict[str, CurrencySpec] = {}
    for code in _TWO_DECIMAL:
        table[code] = CurrencySpec(code, 2, 2)
    for code in sorted(STRIPE_ZERO_DECIMAL) + list(_ISO_ONLY_ZERO_DECIMAL):
        table[code] = CurrencySpec(code, 0, 0)
    for code in sorted(STRIPE_THREE_DECIMAL):
        table[code] = CurrencySpec(code, 3, 3, stripe_charge_multiple=10)
    for code in _ISO_ONLY_THREE_DECIMAL:
        table[code] = CurrencySpec(code, 3, 3)
    # The special cases, each spelled out.
    table["ISK"] = CurrencySpec("ISK", 0, 2, stripe_charge_multiple=100, stripe_payout_multiple=100)
    table["HUF"] = CurrencySpec("HUF", 2, 2, stripe_payout_multiple=100)
    table["TWD"] = CurrencySpec("TWD", 2, 2, stripe_payout_multiple=100)
    return table


CURRENCIES: dict[str, CurrencySpec] = _build()
