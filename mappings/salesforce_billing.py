"""A customer's Stripe subscriptions -> the Account billing fields Concord owns in Salesforce (pure functions).

Stripe is the master of subscriptions; Salesforce shows their gist on the Account: status, plan, billing
interval, amount per interval in the account's currency, next renewal date. Only these fields are written,
never the Account's identity (Name, currency), which Salesforce owns.

One subscription speaks for the customer: the newest that has not ended (else the newest of all), so a
customer who moved plans shows the plan they are on, not the one they left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from mappings.canonical import MappingError
from mappings.model.catalog import Price, Product
from mappings.model.subscription import Subscription
from mappings.money import Money, to_salesforce_currency

STATUS_FIELD = "Stripe_Subscription_Status__c"
PLAN_FIELD = "Stripe_Plan__c"
INTERVAL_FIELD = "Stripe_Billing_Interval__c"
AMOUNT_FIELD = "Stripe_Billing_Amount__c"
RENEWAL_FIELD = "Stripe_Next_Renewal_Date__c"
OWNED_FIELDS = (STATUS_FIELD, PLAN_FIELD, INTERVAL_FIELD, AMOUNT_FIELD, RENEWAL_FIELD)
PLAN_MAX = 255  # the field's length in Salesforce

# Subscriptions that will not bill again.
ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})


@dataclass(frozen=True)
class BillingSummary:
    subscription_stripe_id: str
    status: str
    plan: str | None  # the products' names, in item order
    interval: str | None  # "month", "year", "3 months"
    amount: Money | None  # per interval: licensed per-unit items only (metered and tiered ones vary)
    next_renewal: date | None  # None once it will not renew


def current_subscription(subscriptions: Iterable[Subscription]) -> Subscription | None:
    """The subscription that speaks for its customer: the newest not ended, else the newest."""
    every = list(subscriptions)
    live = [subscription for subscription in every if subscription.status not in ENDED_STATUSES]
    pool = live or every
    return max(pool, key=lambda subscription: (subscription.created, subscription.id)) if pool else None


def _interval(price: Price) -> str | None:
    if price.recurring is None:
        return None
    count, unit = price.recurring.interval_count, price.recurring.interval
    return unit if count == 1 else f"{count} {unit}s"


def billing_summary(subscription: Subscription, prices: Mapping[str, Price],
                    products: Mapping[str, Product]) -> BillingSummary:
    """MappingError (with the field) when an item's price or product is unknown or in another currency."""
    subscription_id = subscription.ids["stripe"]
    names: list[str] = []
    amount = Money.zero(subscription.currency)
    priced = False
    intervals: list[str] = []
    for item in subscription.items:
        price = prices.get(item.price_stripe_id)
        if price is None:
            raise MappingError(f"{subscription_id}: item {item.stripe_id} has unknown price {item.price_stripe_id}",
                               field="items.price", reason="unknown price")
        product = products.get(price.product_stripe_id)
        if product is None:
            raise MappingError(f"{subscription_id}: price {item.price_stripe_id} has unknown product "
                               f"{price.product_stripe_id}",
                               field="items.price.product", reason="unknown product")
        if product.name not in names:
            names.append(product.name)
        interval = _interval(price)
        if interval and interval not in intervals:
            intervals.append(interval)
        licensed = price.recurring is None or price.recurring.usage_type == "licensed"
        if price.unit_amount is not None and licensed and item.quantity is not None:
            if price.unit_amount.currency != amount.currency:
                raise MappingError(f"{subscription_id}: price {item.price_stripe_id} is in "
                                   f"{price.unit_amount.currency}, the subscription in {amount.currency}",
                                   field="items.price.currency", reason="currency differs")
            amount, priced = amount + price.unit_amount.times(item.quantity), True
    ends = [item.current_period_end for item in subscription.items if item.current_period_end is not None]
    renews = subscription.status not in ENDED_STATUSES and not subscription.cancel_at_period_end
    return BillingSummary(
        subscription_stripe_id=subscription_id,
        status=subscription.status,
        plan=", ".join(names)[:PLAN_MAX] or None,
        interval=", ".join(intervals) or None,
        amount=amount if priced else None,
        next_renewal=min(ends).date() if renews and ends else None,
    )


def billing_fields_to_salesforce(summary: BillingSummary, account_currency: str | None) -> dict[str, Any]:
    """The Account fields Concord owns, every one present (None clears a value Stripe no longer has).

    A currency field of an Account is in the Account's CurrencyIsoCode: an amount in another currency is
    refused (MappingError on CurrencyIsoCode), never converted behind finance's back."""
    if summary.amount is not None and account_currency is not None and summary.amount.currency != account_currency:
        raise MappingError(f"{summary.subscription_stripe_id}: bills in {summary.amount.currency} but the Salesforce "
                           f"Account is in {account_currency}", field="CurrencyIsoCode", reason="currency differs")
    return {
        STATUS_FIELD: summary.status,
        PLAN_FIELD: summary.plan,
        INTERVAL_FIELD: summary.interval,
        AMOUNT_FIELD: None if summary.amount is None else to_salesforce_currency(summary.amount),
        RENEWAL_FIELD: None if summary.next_renewal is None else summary.next_renewal.isoformat(),
    }
