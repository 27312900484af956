"""The sandbox's in-memory Stripe account: every object the sandbox serves, keyed by id, plus events.

Callers hold `StripeState.lock` for a whole request (the sandbox does), so every method here
assumes it runs under that one lock.
"""

from __future__ import annotations

import copy
import gc
import threading
import time
from typing import Any

from sandboxes.seed import SeedData, SeedInvoice
from sandboxes.stripe import catalog_objects, finance_seed, objects
from sandboxes.stripe.errors import StripeApiError, missing
from sandboxes.stripe.events import EventLog
from sandboxes.stripe.history import History, SeededStore
from sandboxes.stripe.params import optional_int

SECONDS_PER_DAY = 86_400


def _seed_lines(invoice: SeedInvoice) -> list[dict[str, Any]]:
    lines = []
    for index, seed_line in enumerate(invoice.lines):
        item_id = objects.stable_id("ii_", invoice.stripe_id, index)
        item = objects.new_invoice_item(
            item_id, invoice.customer, invoice.currency, invoice.created,
            amount=seed_line.quantity * seed_line.unit_amount, quantity=seed_line.quantity,
            unit_amount=seed_line.unit_amount, description=seed_line.description, invoice_id=invoice.stripe_id,
        )
        lines.append(objects.line_from_item(objects.stable_id("il_", invoice.stripe_id, index), item,
                                            invoice.stripe_id))
    return lines


def _seed_invoice(seed_invoice: SeedInvoice, customer: dict[str, Any]) -> dict[str, Any]:
    invoice = objects.new_invoice(
        seed_invoice.stripe_id, customer, seed_invoice.customer, seed_invoice.currency, seed_invoice.created,
        collection_method="send_invoice", due_date=seed_invoice.due_date,
    )
    finalized_at = seed_invoice.created + 60  # finalized a minute after the draft was made
    invoice["number"] = seed_invoice.number
    invoice["effective_at"] = finalized_at
    invoice["webhooks_delivered_at"] = seed_invoice.created
    invoice["status_transitions"]["finalized_at"] = finalized_at
    invoice["hosted_invoice_url"] = f"https://invoice.stripe.com/i/acct_sandbox/test_{seed_invoice.stripe_id}"
    invoice["status"] = seed_invoice.status
    if seed_invoice.status == "paid":
        invoice["amount_paid"] = seed_invoice.total
        invoice["attempted"] = True
        invoice["attempt_count"] = 1
        invoice["status_transitions"]["paid_at"] = finalized_at + 5 * SECONDS_PER_DAY
    return invoice


# The stores that hold seeded-history objects when history is on (history.py builds them on first read).
HISTORY_STORES = {"invoices": "invoice", "lines": "lines", "payment_intents": "payment_intent",
                  "charges": "charge", "balance_transactions": "balance_transaction",
                  "invoice_payments": "invoice_payment", "refunds": "refund", "disputes": "dispute",
                  "paid_out": "paid_out"}
ORDERED_STORES = ("invoices", "payment_intents", "charges", "balance_transactions", "invoice_payments", "refunds",
                  "disputes")


class StripeState:
    def __init__(self, seed: SeedData, now: int | None = None, history_months: int = 0) -> None:
        self.seed = seed
        self.history_months = history_months
        self.lock = threading.RLock()
        self.reset(now)

    def reset(self, now: int | None = None) -> None:
        """Back to the seeded account; `now` (default: wall time, which a reset clock shows) decides which
        seeded subscription period is current and which seeded payouts have already been made."""
        # Seeding makes hundreds of thousands of dicts and no cycles: the cyclic GC would only slow it down.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._seed_account(now)
        finally:
            if collecting:
                gc.enable()

    def _seed_account(self, now: int | None) -> None:
        self.ids = objects.IdFactory(self.seed.seed)
        self.history: History | None = None  # the seeded year of renewals, when history_months > 0
        self.customers: dict[str, dict[str, Any]] = SeededStore("customer")  # a dict that keeps its list order
        self.invoices: dict[str, dict[str, Any]] = {}
        self.lines: dict[str, list[dict[str, Any]]] = {}  # invoice id -> its lines, in the order added
        self.invoice_items: dict[str, dict[str, Any]] = {}
        self._reset_new_objects()
        if self.history_months > 0:
            for name, kind in HISTORY_STORES.items():
                setattr(self, name, SeededStore(kind))
        else:
            # Without history these are plain live stores, but kept in (created, id) order all the same, so a
            # list page reads only as far as it needs instead of sorting 200,000 invoices for every page.
            for name in ORDERED_STORES:
                setattr(self, name, SeededStore(HISTORY_STORES[name]))
        for account in self.seed.accounts:
            self.customers[account.stripe_customer_id] = objects.new_customer(
                account.stripe_customer_id, account.created, name=account.name, email=account.email,
                currency=account.currency, metadata={"salesforce_account_id": account.salesforce_id},
            )
        for seed_invoice in self.seed.invoices:
            customer = self.customers[seed_invoice.customer]
            invoice = _seed_invoice(seed_invoice, customer)
            lines = _seed_lines(seed_invoice)
            objects.recompute_totals(invoice, lines)
            self.invoices[invoice["id"]] = invoice
            self.lines[invoice["id"]] = lines
            customer["next_invoice_sequence"] += 1
        self.seeded_at = int(time.time()) if now is None else now  # snapshots diff against this seeding
        finance_seed.seed_money(self, self.seeded_at)

    def attach_history(self, history: History) -> None:
        self.history = history
        for name in HISTORY_STORES:
            getattr(self, name).history = history

    def _reset_new_objects(self) -> None:
        Store = dict[str, dict[str, Any]]
        self.products: Store = {}
        self.prices: Store = {}
        self.coupons: Store = {}
        self.deleted_customers: Store = {}  # id -> the stub Stripe still answers a retrieve with
        self.discounts: Store = {}
        self.discount_coupons: Store = {}  # discount id -> the coupon as it was when applied
        self.tax_rates: Store = {}
        self.subscriptions: Store = {}
        self.subscription_items: Store = {}
        self.payment_methods: Store = {}
        self.payment_intents: Store = {}
        self.charges: Store = {}
        self.refunds: Store = {}
        self.disputes: Store = {}
        self.balance_transactions: Store = {}
        self.payouts: Store = {}
        self.invoice_payments: Store = {}
        self.webhook_endpoints: Store = {}
        self.meter_events: Store = {}  # by identifier
        self.meters: Store = {}
        self.paid_out: dict[str, str] = {}  # balance transaction id -> automatic payout id
        self.card_tokens: dict[str, str] = {}  # payment method id -> the test token it came from
        self.last_payout_day: int | None = None
        if not hasattr(self, "event_log"):
            self.event_log = EventLog(lambda: self.ids.new("evt_"))
        self.event_log.clear()
        self.event_log._new_id = lambda: self.ids.new("evt_")
        self.last_tick = 0
        self.next_cycle_at = 0  # the earliest period end of a live subscription; 0 = work it out again

    def store_for(self, object_id: str) -> tuple[str, dict[str, dict[str, Any]]] | None:
        """The object name and store an id belongs to, by Stripe's id prefix (for expand[])."""
        prefixes = {
            "cus_": ("customer", self.customers), "in_": ("invoice", self.invoices),
            "ii_": ("invoiceitem", self.invoice_items), "prod_": ("product", self.products),
            "price_": ("price", self.prices), "sub_": ("subscription", self.subscriptions),
            "si_": ("subscription_item", self.subscription_items), "pm_": ("payment_method", self.payment_methods),
            "pi_": ("payment_intent", self.payment_intents), "ch_": ("charge", self.charges),
            "py_": ("charge", self.charges), "re_": ("refund", self.refunds), "dp_": ("dispute", self.disputes),
            "txn_": ("balance_transaction", self.balance_transactions), "po_": ("payout", self.payouts),
            "txr_": ("tax_rate", self.tax_rates), "di_": ("discount", self.discounts),
            "inpay_": ("invoice_payment", self.invoice_payments),
        }
        for prefix, found in prefixes.items():
            if object_id.startswith(prefix):
                return found
        return None

    def render(self, object_id: str) -> dict[str, Any] | None:
        """The API view of any stored object: invoices with lines, subscriptions with items, charges
        with refunds; None when the id is unknown."""
        found = self.store_for(object_id)
        if found is None or object_id not in found[1]:
            return None
        name, store = found
        if name == "invoice":
            return self.rendered_invoice(object_id)
        if name == "subscription":
            return self.rendered_subscription(object_id)
        if name == "subscription_item":
            item = store[object_id]
            return catalog_objects.render_subscription_item(item, self.prices[item["price"]])
        if name == "charge":
            return self.rendered_charge(object_id)
        return store[object_id]

    def rendered_subscription(self, subscription_id: str) -> dict[str, Any]:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            raise missing("subscription", subscription_id)
        items = [catalog_objects.render_subscription_item(item, self.prices[item["price"]])
                 for item in self.subscription_items.values() if item["subscription"] == subscription_id]
        return {**subscription, "items": objects.list_object(
            items, False, f"/v1/subscription_items?subscription={subscription_id}")}

    def rendered_charge(self, charge_id: str) -> dict[str, Any]:
        charge = self.charges.get(charge_id)
        if charge is None:
            raise missing("charge", charge_id)
        return self.charge_with_refunds(charge)

    def charges_with_refunds(self, charges: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A page of charges as the API shows them (one pass over the refunds for the whole page)."""
        wanted = {charge["id"]: [] for charge in charges}
        for refund in self.refunds.values():
            if refund["charge"] in wanted:
                wanted[refund["charge"]].append(refund)
        return [self.charge_with_refunds(charge, wanted[charge["id"]]) for charge in charges]

    def charge_with_refunds(self, charge: dict[str, Any],
                            live_refunds: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        charge_id = charge["id"]
        refunds = live_refunds if live_refunds is not None else \
            [refund for refund in self.refunds.values() if refund["charge"] == charge_id]
        if self.history is not None and not dict.__contains__(self.refunds, "re_" + charge_id[3:]):
            seeded = self.refunds.peek("re_" + charge_id[3:])  # a seeded renewal's refund shares its suffix
            if seeded is not None:
                refunds.append(seeded)
        refunds = newest_first(refunds)
        return {**charge, "refunds": objects.list_object(refunds[:10], len(refunds) > 10,
                                                         f"/v1/charges/{charge_id}/refunds")}

    def emit(self, event_type: str, data_object: dict[str, Any], now: int,
             previous: dict[str, Any] | None = None) -> None:
        self.event_log.emit(event_type, data_object, now, previous)

    # -- reads ---------------------------------------------------------------------------------

    def customer(self, customer_id: str) -> dict[str, Any]:
        found = self.customers.get(customer_id)
        if found is None:
            raise missing("customer", customer_id)
        return found

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        found = self.invoices.get(invoice_id)
        if found is None:
            raise missing("invoice", invoice_id)
        return found

    def lines_of(self, invoice_id: str) -> list[dict[str, Any]]:
        """An invoice's lines without keeping a seeded-history invoice's lines built (list pages)."""
        if isinstance(self.lines, SeededStore):
            return self.lines.peek(invoice_id) or []
        return self.lines.get(invoice_id, [])

    def rendered_invoice(self, invoice_id: str) -> dict[str, Any]:
        return objects.render_invoice(self.invoice(invoice_id), self.lines.get(invoice_id, []))

    # -- raw inserts (control API) ---------------------------------------------------------------

    def plant(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Insert an object as given, with defaults only for fields the caller left out."""
        kind = raw.get("object")
        fields = copy.deepcopy({key: value for key, value in raw.items() if key != "object"})
        if kind == "customer":
            customer_id = fields.get("id") or self.ids.new("cus_", 14)
            created = fields.get("created") or objects.EPOCH_FALLBACK
            customer = {**objects.new_customer(customer_id, created), **fields}
            self.customers[customer_id] = customer
            return customer
        if kind == "invoice":
            return self._plant_invoice(fields)
        raise StripeApiError(400, f"cannot plant object {kind!r}: use 'customer' or 'invoice'", param="object")

    def _plant_invoice(self, fields: dict[str, Any]) -> dict[str, Any]:
        invoice_id = fields.get("id") or self.ids.new("in_")
        currency = fields.get("currency", "usd")
        created = fields.get("created") or objects.EPOCH_FALLBACK
        raw_lines = fields.pop("lines", [])
        if isinstance(raw_lines, dict):  # a list object, as Stripe would send it
            raw_lines = raw_lines.get("data", [])
        invoice = objects.new_invoice(invoice_id, self.customers.get(fields.get("customer", "")),
                                      fields.get("customer", ""), currency, created)
        lines = []
        for index, raw_line in enumerate(raw_lines):
            quantity = raw_line.get("quantity", 1)
            amount = raw_line.get("amount", 0)
            item = objects.new_invoice_item(
                objects.stable_id("ii_", invoice_id, index), invoice["customer"], raw_line.get("currency", currency),
                created, amount=amount, quantity=quantity, unit_amount=amount // max(quantity, 1),
                description=raw_line.get("description"), invoice_id=invoice_id,
            )
            line = objects.line_from_item(raw_line.get("id") or objects.stable_id("il_", invoice_id, index), item,
                                          invoice_id)
            lines.append({**line, **raw_line})
        objects.recompute_totals(invoice, lines)
        invoice.update(fields)  # explicit fields (total, status...) win over computed ones
        self.invoices[invoice_id] = invoice
        self.lines[invoice_id] = lines
        return objects.render_invoice(invoice, lines)


def newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: (item.get("created") or 0, item["id"]), reverse=True)


def page_limit(params: dict[str, Any]) -> int:
    limit = optional_int(params, "limit")
    if limit is None:
        limit = 10
    if not 1 <= limit <= 100:
        raise StripeApiError(400, f"Invalid limit: must be between 1 and 100 (got {limit})",
                             code="parameter_invalid_integer", param="limit", replayable=False)
    return limit


def paginate(ordered: list[dict[str, Any]], params: dict[str, Any], url: str, object_name: str) -> dict[str, Any]:
    """Stripe cursor pagination over an already ordered list: limit, starting_after, ending_before."""
    limit = page_limit(params)
    ids = [item["id"] for item in ordered]
    starting_after, ending_before = params.get("starting_after"), params.get("ending_before")
    if starting_after:
        if starting_after not in ids:
            raise missing(object_name, starting_after, param="starting_after")
        window = ordered[ids.index(starting_after) + 1 :]
        return objects.list_object(window[:limit], len(window) > limit, url)
    if ending_before:
        if ending_before not in ids:
            raise missing(object_name, ending_before, param="ending_before")
        window = ordered[: ids.index(ending_before)]
        return objects.list_object(window[-limit:], len(window) > limit, url)
    return objects.list_object(ordered[:limit], len(ordered) > limit, url)
