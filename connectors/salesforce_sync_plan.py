"""What Salesforce should hold of Stripe's catalog and billing, and the outbox rows for what it lacks.

Desired records are built from the Stripe records landed in the hub (and the Salesforce Accounts landed
there, for their ids and currencies) with the mappings. A record is planned when its content hash differs
from the hash of what Concord last wrote for it (the newest done outbox row), or is about to write (the newest
pending one): an unchanged record is never sent again. The row's idempotency key is derived from the record's
key and both hashes, so two planners (or a rerun after a crash) store one row, and a value that goes
A -> B -> A still gets its third write.

A record that cannot be mapped goes to the dead letters with its reason and field; the rest go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.outbox_keys import idempotency_key
from connectors.quickbooks_sync import PushCounts
from mappings.canonical import MappingError
from mappings.model.catalog import Price, Product
from mappings.model.subscription import Subscription
from mappings.salesforce_billing import billing_fields_to_salesforce, billing_summary, current_subscription
from mappings.salesforce_entities import STRIPE_CUSTOMER_FIELD, price_to_salesforce, product_to_salesforce
from mappings.salesforce_price_books import STANDARD, assign_books, book_name
from mappings.salesforce_price_books import stripe_id as price_id
from mappings.stripe_catalog import price_from_stripe, product_from_stripe
from mappings.stripe_subscriptions import subscription_from_stripe
from store.hashing import content_hash
from store.hub import Hub

log = logging.getLogger("concord.sync.salesforce")

SYSTEM = "salesforce"
PRODUCT, PRICE_BOOK, PRICE, BILLING = "product", "price_book", "price", "account_billing"
BOOK_KEY_FIELD = "Concord_Key__c"

Desired = dict[str, dict[str, Any]]  # canonical key -> {"record": Salesforce body, "refs": what it points to}


@dataclass
class SalesforcePushCounts(PushCounts):
    skipped: int = 0  # no place in Salesforce (a price whose price book slot another price holds)
    examples: list[str] = field(default_factory=list)  # the first few Stripe ids written, for the run's metadata

    def as_metadata(self) -> dict[str, int]:
        return {**super().as_metadata(), "skipped": self.skipped}


def _mapped(hub: Hub, entity: str, mapper: Callable[[dict], Any], dead_letter_as: str | None) -> dict[str, Any]:
    """Landed Stripe records of `entity`, mapped; unmappable ones dead-lettered as `dead_letter_as`
    (None: left to whoever dead-letters them already)."""
    mapped = {}
    for stripe_id, payload in hub.raw_payloads("stripe", entity):
        try:
            mapped[stripe_id] = mapper(payload)
        except (MappingError, KeyError, TypeError, ValueError) as exc:
            if dead_letter_as is not None:
                _dead_letter(hub, dead_letter_as, stripe_id, exc, payload)
    return mapped


def _dead_letter(hub: Hub, entity: str, key: str, exc: Exception, payload: Any) -> None:
    reason = str(exc) if isinstance(exc, MappingError) else f"{type(exc).__name__}: {exc}"
    log.warning("Salesforce %s %s dead-lettered: %s", entity, key, reason)
    hub.dead_letter(SYSTEM, entity, key, f"cannot map for Salesforce: {reason}", payload,
                    field=getattr(exc, "field", None))


def desired_products(hub: Hub) -> Desired:
    products: dict[str, Product] = _mapped(hub, "product", product_from_stripe, PRODUCT)
    return {key: {"record": product_to_salesforce(product), "refs": {}} for key, product in products.items()}


def desired_prices(hub: Hub, counts: SalesforcePushCounts) -> tuple[Desired, Desired]:
    """(price books, prices): each price in the book assign_books gives it, with its standard price."""
    prices: dict[str, Price] = _mapped(hub, "price", price_from_stripe, PRICE)
    bodies = {}
    for price in prices.values():
        try:
            # Product2Id and Pricebook2Id are resolved when sending, once product and book are in Salesforce.
            body = price_to_salesforce(price, product2_id="", pricebook2_id="")
        except MappingError as exc:
            _dead_letter(hub, PRICE, price_id(price), exc, {"stripe_price": price_id(price)})
            continue
        bodies[price_id(price)] = {name: value for name, value in body.items()
                                   if name not in ("Product2Id", "Pricebook2Id")}
    # Only prices Salesforce can hold take a place (a tiered one must not hold a standard price slot).
    writable = [price for price in prices.values() if price_id(price) in bodies]
    previous = {key: payload["refs"]["book"] for key, payload in hub.latest_done_payloads(SYSTEM, PRICE).items()}
    books = assign_books(writable, previous)
    standard_of = {(price.product_stripe_id, price.currency): price_id(price) for price in writable
                   if books[price_id(price)] == STANDARD}
    desired: Desired = {}
    for price in writable:
        key = price_id(price)
        book = books[key]
        if book is None:
            counts.skipped += 1
            log.info("Stripe price %s not written to Salesforce: its price book slot holds another price", key)
            continue
        standard = None if book == STANDARD else standard_of[(price.product_stripe_id, price.currency)]
        desired[key] = {"record": bodies[key], "refs": {"product": price.product_stripe_id, "book": book,
                                                                  "standard_price": standard}}
    custom_books = sorted({payload["refs"]["book"] for payload in desired.values()} - {STANDARD})
    price_books = {key: {"record": {BOOK_KEY_FIELD: key, "Name": book_name(key), "IsActive": True}, "refs": {}}
                   for key in custom_books}
    return price_books, desired


def desired_billing(hub: Hub, counts: SalesforcePushCounts) -> Desired:
    """The billing fields of every customer whose Account (landed from Salesforce) carries its Stripe id."""
    subscriptions: dict[str, Subscription] = _mapped(hub, "subscription", subscription_from_stripe, BILLING)
    prices = _mapped(hub, "price", price_from_stripe, None)
    products = _mapped(hub, "product", product_from_stripe, None)
    accounts = {payload[STRIPE_CUSTOMER_FIELD]: payload for _, payload in hub.raw_payloads(SYSTEM, "account")
                if payload.get(STRIPE_CUSTOMER_FIELD)}
    by_customer: dict[str, list[Subscription]] = {}
    for subscription in subscriptions.values():
        by_customer.setdefault(subscription.customer_stripe_id, []).append(subscription)
    desired: Desired = {}
    for customer, owned in by_customer.items():
        account = accounts.get(customer)
        if account is None:
            counts.waiting += 1
            log.info("billing fields of %s wait: no Salesforce Account carries %s", customer, STRIPE_CUSTOMER_FIELD)
            continue
        current = current_subscription(owned)
        try:
            fields = billing_fields_to_salesforce(billing_summary(current, prices, products),
                                                  account.get("CurrencyIsoCode"))
        except MappingError as exc:
            _dead_letter(hub, BILLING, customer, exc,
                         {"subscription": current.ids["stripe"], "account": account.get("Id")})
            continue
        desired[customer] = {"record": {STRIPE_CUSTOMER_FIELD: customer, **fields},
                             "refs": {"account": account["Id"], "subscription": current.ids["stripe"]}}
    return desired


def plan(hub: Hub, entity: str, desired: Desired) -> int:
    """Store an upsert row for every desired record that differs from what Concord last wrote, or is about to
    write (its newest pending row: a record that changed back to what Salesforce has while a change waited must
    get a row that puts it back); returns how many rows are new."""
    bases = {key: payload.get("hash", "") for key, payload in hub.latest_done_payloads(SYSTEM, entity).items()}
    for row in sorted(hub.pending(SYSTEM, entity), key=lambda row: row.id):
        bases[row.canonical_key] = row.payload.get("hash", "")
    rows = []
    for key, payload in desired.items():
        digest = content_hash(payload)
        base = bases.get(key, "")
        if base == digest:
            continue
        row_key = idempotency_key(entity, "upsert", f"{key}:{base[:12]}:{digest[:12]}")
        rows.append((SYSTEM, entity, "upsert", key, row_key, {**payload, "hash": digest}))
    return hub.enqueue_many(rows)
