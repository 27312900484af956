"""Money as integer minor units plus an ISO 4217 currency code.

Vendors disagree on representation: Stripe sends integers in the currency's smallest unit,
QuickBooks sends decimals in major units. Everything inside Concord is `Money` (int + code);
conversion to and from Decimal happens only at the vendor boundary, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Currencies whose minor unit is not 1/100 (ISO 4217). Stripe follows ISO for these, except that
# it treats a few (ISK, UGX...) as zero-decimal: see stripe_exponent.
_ISO_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

# The currencies Concord accepts. An invoice in any other code is a dead letter, not a guess.
KNOWN_CURRENCIES = frozenset(
    {
        "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF",
        "MXN", "BRL", "INR", "SGD", "HKD", "ZAR", "AED", "ILS", "CNY", "THB", "MYR", "PHP", "IDR",
    }
    | set(_ISO_EXPONENTS)
)


class UnknownCurrency(ValueError):
    """A currency code Concord does not know how to scale."""


def normalize_currency(code: str | None) -> str:
    """Upper-case ISO code; raises UnknownCurrency for anything not in KNOWN_CURRENCIES."""
    if not code or not isinstance(code, str):
        raise UnknownCurrency(f"missing currency code: {code!r}")
    upper = code.strip().upper()
    if upper not in KNOWN_CURRENCIES:
        raise UnknownCurrency(f"unknown currency code {code!r}")
    return upper


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit."""
    return _ISO_EXPONENTS.get(normalize_currency(currency), 2)


@dataclass(frozen=True, order=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError(f"amount_minor must be int, got {type(self.amount_minor).__name__}")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {self.currency} and {other.currency}")
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def to_decimal(self) -> Decimal:
        """Major units, exact (e.g. 1234 USD -> Decimal('12.34'); 1234 JPY -> Decimal('1234'))."""
        return Decimal(self.amount_minor).scaleb(-exponent(self.currency))

    def __str__(self) -> str:
        return f"{self.to_decimal():.{exponent(self.currency)}f} {self.currency}"


def from_decimal(value: Decimal | str | int, currency: str) -> Money:
    """Major units (as QuickBooks sends them) to Money; refuses sub-minor-unit precision."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; parse JSON with parse_float=Decimal")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a decimal amount: {value!r}") from exc
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value(rounding=ROUND_HALF_EVEN):
        raise ValueError(f"{value} {currency} has more precision than the currency allows")
    return Money(int(scaled), currency)
