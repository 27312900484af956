"""Money as integer minor units plus an ISO 4217 currency code.

Vendors disagree on representation: Stripe sends integers in its API unit (the minor unit, except
ISK which it still writes with two decimals), QuickBooks sends decimals in major units, Salesforce
currency fields are decimals of any precision. Everything inside Concord is `Money` (int + code);
conversion happens only at the vendor boundary, here, with the rounding each vendor uses named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from mappings.currencies import CURRENCIES, CurrencySpec

# The currencies Concord accepts. An invoice in any other code is a dead letter, not a guess.
KNOWN_CURRENCIES = frozenset(CURRENCIES)

# Rounding, named per vendor so every conversion says whose rule it follows.
# Stripe rounds computed amounts (tax per line, unit_amount_decimal x quantity, FX) half up, to the unit.
STRIPE_ROUNDING = ROUND_HALF_UP
# QuickBooks Online rounds Qty x UnitPrice and its tax amounts half up to the currency's decimals.
QUICKBOOKS_ROUNDING = ROUND_HALF_UP
# Salesforce stores API values at full precision; Apex's Decimal default (and ours for its fields) is half even.
SALESFORCE_ROUNDING = ROUND_HALF_EVEN
# Our own choice where no vendor decides (e.g. internal reports): banker's rounding, no upward drift.
DEFAULT_ROUNDING = ROUND_HALF_EVEN


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


def currency_spec(currency: str) -> CurrencySpec:
    return CURRENCIES[normalize_currency(currency)]


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit."""
    return currency_spec(currency).exponent


@dataclass(frozen=True, order=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError(f"amount_minor must be int, got {type(self.amount_minor).__name__}")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount_minor * quantity, self.currency)

    def to_decimal(self) -> Decimal:
        """Major units, exact (e.g. 1234 USD -> Decimal('12.34'); 1234 JPY -> Decimal('1234'))."""
        return Decimal(self.amount_minor).scaleb(-exponent(self.currency))

    def __str__(self) -> str:
        return f"{self.to_decimal():.{exponent(self.currency)}f} {self.currency}"


def total(amounts: Sequence[Money], currency: str) -> Money:
    """Sum in one currency; an empty sequence is zero (sum() would need a start value)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def _as_decimal(value: Decimal | str | int) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must not be a float; parse JSON with parse_float=Decimal")
    if isinstance(value, bool):
        raise TypeError("money must not be a bool")
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"not a decimal amount: {value!r}") from exc


def from_decimal(value: Decimal | str | int, currency: str) -> Money:
    """Major units (as QuickBooks sends them) to Money; refuses sub-minor-unit precision."""
    amount = _as_decimal(value)
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value(rounding=ROUND_HALF_EVEN):
        raise ValueError(f"{value} {currency} has more precision than the currency allows")
    return Money(int(scaled), currency)


def round_to_minor(value: Decimal | str | int, currency: str, rounding: str) -> Money:
    """Major units of any precision to Money, rounding with the named rule (e.g. QUICKBOOKS_ROUNDING)."""
    amount = _as_decimal(value)
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return Money(int(amount.scaleb(exponent(currency)).to_integral_value(rounding=rounding)), currency)


def round_minor(value: Decimal, rounding: str) -> int:
    """A fractional count of minor units (e.g. a tax of 12.5 cents) to an integer with the named rule."""
    return int(value.to_integral_value(rounding=rounding))


def allocate(amount: Money, weights: Sequence[int]) -> list[Money]:
    """Split `amount` in proportion to integer `weights` so the parts sum to it exactly.

    Largest-remainder method: every part is floored, then the leftover minor units go to the parts
    with the largest remainders (earliest first on ties). Used to spread an invoice discount over lines.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError(f"weights must be non-negative and not all zero: {list(weights)}")
    sign = -1 if amount.amount_minor < 0 else 1
    whole = abs(amount.amount_minor)
    weight_sum = sum(weights)
    shares = [whole * w // weight_sum for w in weights]
    remainders = [whole * w % weight_sum for w in weights]
    leftover = whole - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:leftover]:
        shares[index] += 1
    return [Money(sign * share, amount.currency) for share in shares]


# -- Stripe ---------------------------------------------------------------------------------------


def from_stripe_amount(amount: int, currency: str) -> Money:
    """A Stripe API integer amount to Money. ISK arrives with two decimals (100 = 1 krona): a
    fractional krona (legacy, before 2023) cannot be canonical and is refused, not rounded."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"Stripe amounts are integers, got {amount!r}")
    spec = currency_spec(currency)
    if amount % spec.stripe_factor:
        raise ValueError(
            f"{amount} is not a whole {spec.code} amount (Stripe writes {spec.code} x{spec.stripe_factor})"
        )
    return Money(amount // spec.stripe_factor, spec.code)


def to_stripe_amount(money: Money) -> int:
    """Money to the integer Stripe's API expects (ISK x100; every other currency unchanged)."""
    return money.amount_minor * currency_spec(money.currency).stripe_factor


def stripe_amount_problem(money: Money, purpose: str = "charge") -> str | None:
    """Why Stripe would refuse this amount for a charge/price or a payout, or None when it is fine."""
    spec = currency_spec(money.currency)
    multiple = {"charge": spec.stripe_charge_multiple, "payout": spec.stripe_payout_multiple}[purpose]
    api_amount = to_stripe_amount(money)
    if api_amount % multiple:
        return f"Stripe {purpose} amounts in {spec.code} must be divisible by {multiple}; got {api_amount}"
    return None


def round_for_stripe(money: Money, purpose: str = "charge", rounding: str = STRIPE_ROUNDING) -> Money:
    """Round to the granularity Stripe accepts (KWD charges to 10 fils, HUF payouts to whole forint)."""
    spec = currency_spec(money.currency)
    multiple = {"charge": spec.stripe_charge_multiple, "payout": spec.stripe_payout_multiple}[purpose]
    step = max(1, multiple // spec.stripe_factor)  # in canonical minor units
    steps = (Decimal(money.amount_minor) / Decimal(step)).to_integral_value(rounding=rounding)
    return Money(int(steps) * step, money.currency)


# -- QuickBooks (Decimal major units) --------------------------------------------------------------


def to_quickbooks_amount(money: Money) -> Decimal:
    """QuickBooks Amount/TotalAmt: Decimal major units with the currency's decimals."""
    return money.to_decimal()


def from_quickbooks_amount(value: Decimal | str | int, currency: str) -> Money:
    """A stored QuickBooks amount; exact, since QuickBooks stores amounts at the currency's decimals."""
    return from_decimal(value, currency)


def from_quickbooks_computed(value: Decimal | str | int, currency: str) -> Money:
    """A QuickBooks value that may carry extra decimals (Qty x UnitPrice), rounded as QuickBooks does."""
    return round_to_minor(value, currency, QUICKBOOKS_ROUNDING)


# -- Salesforce (currency fields) ------------------------------------------------------------------


def to_salesforce_currency(money: Money) -> Decimal:
    """A Salesforce currency field value: Decimal major units (the field's CurrencyIsoCode says which)."""
    return money.to_decimal()


def from_salesforce_currency(value: Decimal | str | int, currency: str) -> Money:
    """Salesforce keeps whatever precision the API wrote (the UI only displays rounded), so a value may
    have more decimals than the currency; round it explicitly with Salesforce's half-even rule."""
    return round_to_minor(value, currency, SALESFORCE_ROUNDING)
