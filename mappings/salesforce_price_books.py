"""Which Salesforce price book each Stripe price goes to (pure functions).

Salesforce allows one PricebookEntry per price book, product and currency, and an entry in a custom price
book only once the product has a standard price in that currency (STANDARD_PRICE_NOT_DEFINED otherwise).
Stripe allows any number of prices per product and currency (monthly and yearly, old and new). So:

- each (product, currency) has one standard price: the price already there (an earlier assignment), else the
  best candidate: active before archived, monthly before other intervals, then by id (deterministic);
- every other price goes to the custom price book of its billing interval (`stripe-1-year`, `stripe-one-time`),
  one per (book, product, currency) chosen the same way;
- a price whose place is taken (a third price of one product, currency and interval) has no place in
  Salesforce: None, and the caller counts it as skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mappings.model.catalog import Price

STANDARD = "standard"


def book_key(price: Price) -> str:
    """The custom price book of the price's billing interval."""
    if price.recurring is None:
        return "stripe-one-time"
    return f"stripe-{price.recurring.interval_count}-{price.recurring.interval}"


_EVERY_ONE = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}


def book_name(key: str) -> str:
    """The custom price book's Name in Salesforce, e.g. "Stripe prices: yearly", "Stripe prices: every 3 months"."""
    if key == "stripe-one-time":
        return "Stripe prices: one-time"
    _, count, unit = key.split("-", 2)
    return f"Stripe prices: {_EVERY_ONE[unit]}" if count == "1" else f"Stripe prices: every {count} {unit}s"


def stripe_id(price: Price) -> str:
    return price.ids["stripe"]


def _preference(price: Price) -> tuple[bool, bool, str]:
    monthly = price.recurring is not None and (price.recurring.interval, price.recurring.interval_count) == ("month", 1)
    return (not price.active, not monthly, stripe_id(price))


def _choose(candidates: list[Price], book: str, previous: Mapping[str, str]) -> Price:
    kept = [price for price in candidates if previous.get(stripe_id(price)) == book]
    return min(kept or candidates, key=_preference)


def assign_books(prices: Iterable[Price], previous: Mapping[str, str]) -> dict[str, str | None]:
    """Stripe price id -> STANDARD, a custom book key, or None (no place); `previous` is the last assignment
    (by Stripe price id)."""
    slots: dict[tuple[str, str], list[Price]] = {}
    for price in prices:
        slots.setdefault((price.product_stripe_id, price.currency), []).append(price)
    assigned: dict[str, str | None] = {}
    for candidates in slots.values():
        standard = _choose(candidates, STANDARD, previous)
        assigned[stripe_id(standard)] = STANDARD
        by_book: dict[str, list[Price]] = {}
        for price in candidates:
            if price is not standard:
                by_book.setdefault(book_key(price), []).append(price)
        for book, in_book in by_book.items():
            holder = _choose(in_book, book, previous)
            for price in in_book:
                assigned[stripe_id(price)] = book if price is holder else None
    return assigned
