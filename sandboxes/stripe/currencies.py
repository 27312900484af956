"""Stripe's currency rules: minor-unit exponents, three-decimal rounding, minimum charges, card fees.

Amounts are integers in the currency's smallest unit. Zero-decimal currencies (JPY) take whole
units; three-decimal currencies (KWD) take thousandths but Stripe requires the last digit to be 0.
"""

from __future__ import annotations

from sandboxes.stripe.errors import StripeApiError

ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                          "vuv", "xaf", "xof", "xpf"})
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

# Minimum charge amounts (minor units) for the currencies the seed and tests use; others: none enforced.
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50, "jpy": 50, "kwd": 500}

# Card pricing (US account): 2.9 % + a fixed fee, in the charge currency. Settlement is modelled in
# the charge currency (no conversion), which is what an account with that settlement currency sees.
CARD_FEE_PERCENT_BASIS_POINTS = 290
CARD_FIXED_FEE = {"usd": 30, "eur": 25, "gbp": 20, "cad": 30, "aud": 30, "chf": 30, "jpy": 30, "kwd": 100}
DISPUTE_FEE = {"usd": 1500, "eur": 1500, "gbp": 1500, "jpy": 2000, "kwd": 5000}


def exponent(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def validate_amount(amount: int, currency: str, *, param: str = "amount", charge: bool = False) -> None:
    """Stripe's checks on an amount: three-decimal currencies end in 0; charges meet the minimum."""
    if currency in THREE_DECIMAL and amount % 10 != 0:
        raise StripeApiError(
            400, f"Invalid amount: {amount}. Amounts in {currency.upper()} must be divisible by 10 (the last "
            "decimal place must be 0).", code="amount_invalid", param=param, replayable=False,
        )
    minimum = MINIMUM_CHARGE.get(currency)
    if charge and minimum is not None and amount < minimum:
        raise StripeApiError(
            400, f"Amount must be at least {format_amount(minimum, currency)} {currency}",
            code="amount_too_small", param=param, replayable=False,
        )


def format_amount(amount: int, currency: str) -> str:
    places = exponent(currency)
    if places == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}"


def round_half_even_div(numerator: int, denominator: int) -> int:
    """Integer division rounded to nearest, ties to even, without floats (Stripe rounds fees this way)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def card_fee(amount: int, currency: str) -> int:
    fee = round_half_even_div(amount * CARD_FEE_PERCENT_BASIS_POINTS, 10_000) + CARD_FIXED_FEE.get(currency, 30)
    if currency in THREE_DECIMAL:
        fee = round_half_even_div(fee, 10) * 10  # fees follow the same last-digit-zero rule
    return fee


def dispute_fee(currency: str) -> int:
    return DISPUTE_FEE.get(currency, 1500)
