"""The currency table, Stripe's special cases, named rounding and the gateway's FX rate."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mappings.currencies import CURRENCIES, STRIPE_THREE_DECIMAL, STRIPE_ZERO_DECIMAL
from mappings.fx import FxRate, rate_from_stripe
from mappings.model.payouts import BalanceTransaction
from mappings.money import (
    QUICKBOOKS_ROUNDING,
    SALESFORCE_ROUNDING,
    STRIPE_ROUNDING,
    Money,
    allocate,
    exponent,
    from_quickbooks_computed,
    from_salesforce_currency,
    from_stripe_amount,
    round_for_stripe,
    stripe_amount_problem,
    to_salesforce_currency,
    to_stripe_amount,
)


def test_one_table_holds_stripe_zero_and_three_decimal_lists():
    """Input: Stripe's documented zero-decimal and three-decimal lists; expect exponents 0 and 3."""
    assert {code for code in STRIPE_ZERO_DECIMAL if exponent(code) != 0} == set()
    assert {exponent(code) for code in STRIPE_THREE_DECIMAL} == {3}
    assert all(CURRENCIES[code].stripe_charge_multiple == 10 for code in STRIPE_THREE_DECIMAL)
    assert (exponent("USD"), exponent("JPY"), exponent("KWD"), exponent("isk")) == (2, 0, 3, 0)


def test_isk_is_whole_krona_but_stripe_writes_two_decimals():
    """Input: Stripe ISK amount 50000 (= 500 kr), a legacy fractional 50050, and Money(500, ISK) going out."""
    assert from_stripe_amount(50000, "isk") == Money(500, "ISK")
    with pytest.raises(ValueError, match="not a whole ISK"):
        from_stripe_amount(50050, "isk")
    assert to_stripe_amount(Money(500, "ISK")) == 50000
    assert str(Money(500, "ISK")) == "500 ISK"


@pytest.mark.parametrize(
    ("money", "purpose", "problem"),
    [
        (Money(5124, "KWD"), "charge", "divisible by 10"),
        (Money(5120, "KWD"), "charge", None),
        (Money(1045, "HUF"), "charge", None),  # two-decimal for charges
        (Money(1045, "HUF"), "payout", "divisible by 100"),  # whole forint for payouts
        (Money(1000, "TWD"), "payout", None),
        (Money(7, "ISK"), "charge", None),  # 700 in the API: a multiple of 100
    ],
)
def test_stripe_granularity_rules(money, purpose, problem):
    """Input: amounts at and off Stripe's granularity for KWD charges, HUF/TWD payouts and ISK."""
    found = stripe_amount_problem(money, purpose)
    assert (found is None) if problem is None else (problem in found)


def test_round_for_stripe_uses_the_named_rule():
    """Input: 5.124 KWD and 5.125 KWD charges (Stripe: nearest 10 fils), 10.45 HUF payout."""
    assert round_for_stripe(Money(5124, "KWD")) == Money(5120, "KWD")
    assert round_for_stripe(Money(5125, "KWD")) == Money(5130, "KWD")  # half up (STRIPE_ROUNDING)
    assert round_for_stripe(Money(1045, "HUF"), "payout") == Money(1000, "HUF")


def test_vendor_rounding_rules_differ_on_ties():
    """Input: 0.125 USD from QuickBooks (half up -> 0.13) and from Salesforce (half even -> 0.12)."""
    assert from_quickbooks_computed(Decimal("0.125"), "USD") == Money(13, "USD")
    assert from_salesforce_currency(Decimal("0.125"), "USD") == Money(12, "USD")
    assert from_salesforce_currency("12.5", "JPY") == Money(12, "JPY")
    assert (STRIPE_ROUNDING, QUICKBOOKS_ROUNDING, SALESFORCE_ROUNDING) == ("ROUND_HALF_UP", "ROUND_HALF_UP",
                                                                          "ROUND_HALF_EVEN")
    assert to_salesforce_currency(Money(45750, "KWD")) == Decimal("45.750")


def test_allocate_never_loses_a_minor_unit():
    """Input: 1.00 USD over three equal lines, -0.05 over weights 1:1, 7 JPY over 2:1."""
    assert [m.amount_minor for m in allocate(Money(100, "USD"), [1, 1, 1])] == [34, 33, 33]
    assert [m.amount_minor for m in allocate(Money(-5, "USD"), [1, 1])] == [-3, -2]
    assert [m.amount_minor for m in allocate(Money(7, "JPY"), [2, 1])] == [5, 2]


def test_fx_rate_comes_from_the_balance_transaction():
    """Input: a EUR 100.00 charge settled in USD with Stripe's exchange_rate 1.0843 (as a float from the SDK)."""
    rate = rate_from_stripe(1.0843)
    assert rate == Decimal("1.0843")
    when = datetime(2026, 3, 1, tzinfo=UTC)
    txn = BalanceTransaction({"stripe": "txn_1"}, "charge", "charge", Money(10843, "USD"), Money(344, "USD"),
                             Money(10499, "USD"), when, when, "available", "ch_1", exchange_rate=rate)
    fx = txn.fx("eur")
    assert fx == FxRate("EUR", "USD", Decimal("1.0843"), "txn_1")
    assert fx.convert(Money(10000, "EUR")) == txn.amount
    with pytest.raises(ValueError):
        FxRate("EUR", "USD", Decimal("0"), "txn_1")
