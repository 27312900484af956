"""Pure rules of the Stripe -> Salesforce writes: the Account billing fields of a customer's subscriptions, and
which price book each Stripe price goes to."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mappings.canonical import MappingError
from mappings.model.catalog import Price, Product, Recurring
from mappings.model.subscription import Subscription, SubscriptionItem
from mappings.money import Money
from mappings.salesforce_billing import (
    AMOUNT_FIELD,
    PLAN_FIELD,
    RENEWAL_FIELD,
    STATUS_FIELD,
    billing_fields_to_salesforce,
    billing_summary,
    current_subscription,
)
from mappings.salesforce_price_books import STANDARD, assign_books, book_key, book_name

MONTH, YEAR = Recurring("month"), Recurring("year")


def price(stripe_id: str, minor: int | None, currency: str = "kwd", recurring: Recurring | None = MONTH,
          product: str = "prod_a", active: bool = True, usage: str = "licensed") -> Price:
    if recurring is not None and usage != "licensed":
        recurring = Recurring(recurring.interval, usage_type=usage)
    return Price({"stripe": stripe_id}, product, currency, active=active, recurring=recurring,
                 unit_amount=None if minor is None else Money(minor, currency))


def subscription(stripe_id: str, items: list[tuple[str, int | None]], status: str = "active", created: int = 100,
                 currency: str = "kwd", end: int = 1_800_000_000, cancel_at_period_end: bool = False) -> Subscription:
    return Subscription(
        {"stripe": stripe_id}, "cus_1", status, currency,
        tuple(SubscriptionItem(f"si_{n}", price_id, quantity, current_period_end=datetime.fromtimestamp(end + n, UTC))
              for n, (price_id, quantity) in enumerate(items)),
        datetime.fromtimestamp(created, UTC), cancel_at_period_end=cancel_at_period_end)


PRODUCTS = {"prod_a": Product({"stripe": "prod_a"}, "Growth"), "prod_b": Product({"stripe": "prod_b"}, "Seats")}


def test_billing_fields_sum_licensed_items_exactly_and_skip_metered_ones():
    """Input: a KWD subscription with 3 seats at 9.125 KWD, 2 of another product at 0.005 KWD, and a metered item.
    Expect plan "Growth, Seats", amount 27.385 KWD as an exact Decimal, the earliest item period end as renewal."""
    prices = {"p1": price("p1", 9125), "p2": price("p2", 5, product="prod_b"),
              "p3": price("p3", 100, usage="metered", product="prod_b")}
    # A metered item's quantity says nothing about its charge (usage does), even when one is given.
    summary = billing_summary(subscription("sub_1", [("p1", 3), ("p2", 2), ("p3", 1)]), prices, PRODUCTS)
    fields = billing_fields_to_salesforce(summary, "KWD")
    assert fields[PLAN_FIELD] == "Growth, Seats" and fields[STATUS_FIELD] == "active"
    assert fields[AMOUNT_FIELD] == Decimal("27.385") and isinstance(fields[AMOUNT_FIELD], Decimal)
    assert fields[RENEWAL_FIELD] == datetime.fromtimestamp(1_800_000_000, UTC).date().isoformat()


def test_a_subscription_that_will_not_renew_has_no_renewal_date():
    """Input: one subscription set to cancel at period end, one canceled. Expect no renewal date for either."""
    prices = {"p1": price("p1", 1000)}
    for sub in (subscription("sub_1", [("p1", 1)], cancel_at_period_end=True),
                subscription("sub_2", [("p1", 1)], status="canceled")):
        assert billing_summary(sub, prices, PRODUCTS).next_renewal is None


def test_the_current_subscription_is_the_newest_not_ended_one():
    """Input: a newer canceled subscription and an older active one; then only canceled ones. Expect the active one,
    then the newest canceled one."""
    old_active = subscription("sub_old", [], created=100)
    new_canceled = subscription("sub_new", [], status="canceled", created=200)
    assert current_subscription([new_canceled, old_active]) is old_active
    older_canceled = subscription("sub_older", [], status="canceled", created=50)
    assert current_subscription([older_canceled, new_canceled]) is new_canceled
    assert current_subscription([]) is None


def test_an_amount_in_another_currency_than_the_account_is_refused_on_currency_iso_code():
    """Input: a KWD subscription for an Account in USD. Expect MappingError on CurrencyIsoCode, no conversion."""
    summary = billing_summary(subscription("sub_1", [("p1", 1)]), {"p1": price("p1", 9000)}, PRODUCTS)
    with pytest.raises(MappingError) as caught:
        billing_fields_to_salesforce(summary, "USD")
    assert caught.value.field == "CurrencyIsoCode"


def test_an_unknown_price_is_refused_with_its_field():
    """Input: an item whose price was never landed. Expect MappingError naming items.price."""
    with pytest.raises(MappingError) as caught:
        billing_summary(subscription("sub_1", [("p_missing", 1)]), {}, PRODUCTS)
    assert caught.value.field == "items.price"


def test_standard_price_is_the_monthly_active_one_and_others_go_to_their_interval_book():
    """Input: per product and currency, a yearly, an archived monthly and an active monthly price, and a one-time
    one; a second yearly price of the same slot. Expect the active monthly as standard (before the archived one,
    whose id sorts first), the archived monthly in stripe-1-month, the first yearly (by id) in stripe-1-year, the
    other yearly without a place, one-time in its book."""
    prices = [price("price_y1", 10, recurring=YEAR), price("price_a_archived", 1, active=False),
              price("price_m", 2), price("price_once", 5, recurring=None), price("price_y2", 11, recurring=YEAR)]
    assert assign_books(prices, {}) == {"price_m": STANDARD, "price_a_archived": "stripe-1-month",
                                         "price_y1": "stripe-1-year", "price_y2": None,
                                         "price_once": "stripe-one-time"}


def test_earlier_assignments_hold_their_place():
    """Input: the same prices where an earlier run put the yearly price_y2 in the standard book. Expect it to stay
    there (Salesforce cannot move an entry), and price_m to go to the monthly custom book instead."""
    prices = [price("price_m", 2), price("price_y2", 11, recurring=YEAR)]
    assert assign_books(prices, {"price_y2": STANDARD}) == {"price_y2": STANDARD, "price_m": "stripe-1-month"}


def test_each_product_and_currency_has_its_own_standard_price():
    """Input: two currencies of one product, and a second product. Expect three standard prices."""
    prices = [price("p_usd", 1, "usd"), price("p_eur", 1, "eur"), price("p_b", 1, product="prod_b")]
    assert set(assign_books(prices, {}).values()) == {STANDARD}


def test_book_keys_and_names():
    """Input: quarterly and one-time prices. Expect readable keys and names."""
    quarterly = price("p", 1, recurring=Recurring("month", interval_count=3))
    assert book_key(quarterly) == "stripe-3-month" and book_name("stripe-3-month") == "Stripe prices: every 3 months"
    assert book_name(book_key(price("p", 1, recurring=YEAR))) == "Stripe prices: yearly"
    assert book_name(book_key(price("p", 1, recurring=None))) == "Stripe prices: one-time"
