"""The seeded account's money history, as a finance team would expect to find it.

On top of the shared seed (customers and their invoices, whose ids, lines, totals and statuses stay
exactly as sandboxes/seed.py made them), every customer gets:

- a subscription to one of three plans (Starter, Growth, Scale), monthly or yearly, priced in the
  customer's currency; its seeded invoices are the subscription's invoices (`parent`);
- a card (pm_...4242) as the default payment method;
- for each *paid* seeded invoice, the payment: payment intent, charge, balance transaction with the
  card fee, and invoice payment;
- now and then a partial or full refund, and a few disputes (one lost, others awaiting a response);
- automatic payouts grouping the balance transactions per currency and availability day (a day that
  nets to zero or less is carried into the next payout, as Stripe carries a negative balance; what is
  left negative at the end is settled in the last payouts, so the seeded available balance is zero).

Everything is a function of the seed. Ids of the derived objects reuse the seeded invoice's id suffix
(pi_X, ch_X, txn_X...), which is cheap and collision-free, so scale=1000 still builds in about a second
or two. Only the subscription periods and payout statuses depend on the sandbox clock at reset: periods
are rolled forward to contain "now" (the renewals in between are not invoiced), and transactions not yet
available are left for the regular automatic payouts. With `history_months` (opt-in), history.py adds each
subscription's renewal invoices of those months before the clock, with their payments, and the payouts settle
them too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sandboxes.seed import SeedInvoice
from sandboxes.stripe import catalog_objects, currencies, objects, payment_objects

if TYPE_CHECKING:
    from sandboxes.stripe.state import StripeState

Body = dict[str, Any]
DAY = 86_400
PLANS = (("starter", "Starter", 1), ("growth", "Growth", 3), ("scale", "Scale", 10))  # key, name, multiple
# A monthly Starter seat in each seeded currency (minor units; KWD ends in 0).
MONTHLY_BASE = {"usd": 2900, "eur": 2700, "gbp": 2300, "jpy": 4400, "kwd": 9000}
YEARLY_MONTHS = 10  # a year for the price of ten months
AVAILABILITY_DELAY = 2 * DAY
PAYOUT_TRANSIT = 2 * DAY
CATALOG_CREATED = 1_767_225_600 - 30 * DAY  # the catalog predates the first customer


def _suffix(object_id: str) -> str:
    return object_id.split("_", 1)[1]


def seed_catalog(state: StripeState) -> None:
    for key, name, multiple in PLANS:
        product_id = objects.stable_id("prod_", "plan", key, length=14)
        state.products[product_id] = catalog_objects.new_product(
            product_id, CATALOG_CREATED, name=name, description=f"{name} plan", active=True, metadata={},
            unit_label=None, tax_code=None)
        for currency, base in MONTHLY_BASE.items():
            for interval, months in (("month", 1), ("year", YEARLY_MONTHS)):
                price_id = price_id_for(key, currency, interval)
                price = catalog_objects.new_price(
                    price_id, CATALOG_CREATED, product=product_id, currency=currency,
                    unit_amount=base * multiple * months, recurring=catalog_objects.recurring(interval, 1),
                    nickname=f"{name} {interval}ly", lookup_key=f"{key}_{interval}ly_{currency}", metadata={})
                state.prices[price_id] = price


def price_id_for(plan: str, currency: str, interval: str) -> str:
    return objects.stable_id("price_", plan, currency, interval)


def _rolled_forward(start: int, interval: str, now: int) -> tuple[int, int]:
    from sandboxes.stripe.billing import add_interval  # billing imports the state module: import late

    anchor = time.gmtime(start).tm_mday
    period_start, period_end = start, add_interval(start, interval, 1, anchor)
    while period_end <= now:
        period_start, period_end = period_end, add_interval(period_end, interval, 1, anchor)
    return period_start, period_end


def seed_money(state: StripeState, now: int) -> None:
    """Subscriptions, cards, payments, refunds, disputes and payouts for the seeded customers."""
    seed_catalog(state)
    by_customer: dict[str, list[SeedInvoice]] = {}
    for seed_invoice in state.seed.invoices:
        by_customer.setdefault(seed_invoice.customer, []).append(seed_invoice)
    # What each currency nets from the seeded payments: refunds and disputes only take from what is there,
    # so the seeded payouts can settle every currency without leaving a negative balance.
    headroom: dict[str, int] = {}
    for seed_invoice in state.seed.invoices:
        if seed_invoice.status == "paid":
            net = seed_invoice.total - currencies.card_fee(seed_invoice.total, seed_invoice.currency)
            headroom[seed_invoice.currency] = headroom.get(seed_invoice.currency, 0) + net
    paid_count = 0
    subscribed = []
    for index, account in enumerate(state.seed.accounts):
        invoices = by_customer.get(account.stripe_customer_id, [])
        customer = state.customers[account.stripe_customer_id]
        method = _card(state, customer)
        if invoices:
            subscribed.append((customer, _subscription(state, index, customer, method, invoices, now), invoices))
        for seed_invoice in invoices:
            if seed_invoice.status == "paid":
                _payment(state, state.invoices[seed_invoice.stripe_id], method, paid_count, headroom)
                paid_count += 1
    if state.history_months > 0:
        _year_of_history(state, subscribed, now)
    for txn in state.balance_transactions.values():
        if txn["available_on"] <= now:
            txn["status"] = "available"
    _payouts(state, now)


def _year_of_history(state: StripeState, subscribed: list[tuple[Body, Body, list[SeedInvoice]]], now: int) -> None:
    """The renewal invoices (and their payments) of the `history_months` before `now` (see history.py)."""
    from sandboxes.stripe.history import History

    made = History(state, state.history_months, now)
    for customer, subscription, invoices in subscribed:
        item = state.subscription_items["si_" + _suffix(customer["id"])]
        rows = made.add_subscription(customer, subscription, state.prices[item["price"]], invoices[0].created,
                                     len(invoices))
        if not rows:
            continue
        first = min(made.row_created[row] for row in rows)
        if first < subscription["start_date"]:  # renewals before the seeded invoices: it started earlier
            subscription.update(created=first, start_date=first)
            state.invoices[invoices[0].stripe_id]["billing_reason"] = "subscription_cycle"
        latest = max(rows, key=made.row_created.__getitem__)
        if made.row_created[latest] > invoices[-1].created:
            subscription["latest_invoice"] = "in_" + made.suffix(latest)
    made.settle()
    state.attach_history(made)
    made.materialize_eager()


def _card(state: StripeState, customer: Body) -> Body:
    method_id = "pm_" + _suffix(customer["id"]) + "card00000"  # 24 characters after pm_
    method = payment_objects.new_payment_method(method_id, customer["created"], brand="visa", last4="4242",
                                                customer=customer["id"], token="pm_card_visa")
    state.payment_methods[method_id] = method
    state.card_tokens[method_id] = "pm_card_visa"
    customer["invoice_settings"]["default_payment_method"] = method_id
    return method


def _subscription(state: StripeState, index: int, customer: Body, method: Body, invoices: list[SeedInvoice],
                  now: int) -> Body:
    plan = PLANS[index % len(PLANS)][0]
    interval = "year" if index % 4 == 3 else "month"
    start = invoices[0].created
    subscription_id = "sub_" + _suffix(customer["id"]) + "subs000000"
    subscription = catalog_objects.new_subscription(
        subscription_id, start, customer=customer["id"], currency=customer["currency"],
        collection_method="send_invoice", days_until_due=30, default_payment_method=method["id"],
        description=None, metadata={}, default_tax_rates=[])
    subscription.update(status="active", latest_invoice=invoices[-1].stripe_id)
    period = _rolled_forward(start, interval, max(now, start + 1))
    item_id = "si_" + _suffix(customer["id"])
    state.subscription_items[item_id] = catalog_objects.new_subscription_item(
        item_id, start, subscription=subscription_id, price=price_id_for(plan, customer["currency"], interval),
        quantity=1, period_start=period[0], period_end=period[1], metadata={}, tax_rates=[])
    state.subscriptions[subscription_id] = subscription
    for position, seed_invoice in enumerate(invoices):
        invoice = state.invoices[seed_invoice.stripe_id]
        invoice["billing_reason"] = "subscription_create" if position == 0 else "subscription_cycle"
        invoice["parent"] = {"quote_details": None, "subscription_details": {
            "metadata": {}, "subscription": subscription_id}, "type": "subscription_details"}
    return subscription


def _payment(state: StripeState, invoice: Body, method: Body, paid_index: int, headroom: dict[str, int]) -> None:
    """The card payment of a paid seeded invoice, and for some the refund or dispute that followed."""
    paid_at = invoice["status_transitions"]["paid_at"]
    amount, currency, suffix = invoice["amount_paid"], invoice["currency"], _suffix(invoice["id"])
    intent = payment_objects.new_payment_intent(
        "pi_" + suffix, paid_at, amount=amount, currency=currency, customer=invoice["customer"],
        description=f"Payment for Invoice {invoice['number']}", metadata={}, payment_method=method["id"],
        secret=suffix[:12])
    charge_id, txn_id = "ch_" + suffix, "txn_" + suffix
    fee = currencies.card_fee(amount, currency)
    _add_txn(state, txn_id, paid_at, amount=amount, currency=currency, fee=fee, source=charge_id, kind="charge",
             category="charge", description=intent["description"], available_on=paid_at + AVAILABILITY_DELAY)
    charge = payment_objects.new_charge(charge_id, paid_at, intent=intent, method=method, failure=None,
                                        balance_transaction=txn_id)
    intent.update(status="succeeded", amount_received=amount, latest_charge=charge_id)
    state.payment_intents[intent["id"]] = intent
    state.charges[charge_id] = charge
    payment = catalog_objects.new_invoice_payment("inpay_" + suffix, paid_at, invoice=invoice["id"],
                                                  currency=currency, amount=amount, payment_intent=intent["id"],
                                                  status="paid")
    state.invoice_payments[payment["id"]] = payment
    step = 10 if currency in currencies.THREE_DECIMAL else 1
    if paid_index % 11 == 4 and headroom[currency] > amount:
        headroom[currency] -= amount
        _refund(state, charge, amount, paid_at + 3 * DAY, "requested_by_customer")
    elif paid_index % 5 == 2 and headroom[currency] > amount // 4:
        headroom[currency] -= amount // 4 // step * step
        _refund(state, charge, amount // 4 // step * step, paid_at + 6 * DAY, "requested_by_customer")
    elif paid_index % 19 == 8 and headroom[currency] > amount + currencies.dispute_fee(currency):
        headroom[currency] -= amount + currencies.dispute_fee(currency)
        _dispute(state, charge, paid_at + 12 * DAY, lost=paid_index // 19 % 2 == 1)


def _add_txn(state: StripeState, txn_id: str, created: int, *, amount: int, currency: str, fee: int, source: str,
             kind: str, category: str, description: str | None, available_on: int, fee_kind: str = "Stripe "
             "processing fees") -> Body:
    details = [payment_objects.fee_detail(fee, currency, "stripe_fee", fee_kind)] if fee else []
    txn = payment_objects.new_balance_transaction(
        txn_id, created, amount=amount, currency=currency, fee=fee, fee_details=details, source=source, kind=kind,
        reporting_category=category, description=description, available_on=available_on)
    state.balance_transactions[txn_id] = txn
    return txn


def _refund(state: StripeState, charge: Body, amount: int, when: int, reason: str) -> None:
    refund_id = "re_" + _suffix(charge["id"])
    txn = _add_txn(state, "txn_" + _suffix(refund_id) + "re", when, amount=-amount, currency=charge["currency"],
                   fee=0, source=refund_id, kind="refund", category="refund", description="REFUND FOR CHARGE",
                   available_on=when)
    state.refunds[refund_id] = payment_objects.new_refund(refund_id, when, charge=charge, amount=amount,
                                                          reason=reason, metadata={}, balance_transaction=txn["id"])
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]


def _dispute(state: StripeState, charge: Body, when: int, *, lost: bool) -> None:
    dispute_id = "dp_" + _suffix(charge["id"])
    fee = currencies.dispute_fee(charge["currency"])
    txn = _add_txn(state, "txn_" + _suffix(dispute_id) + "dp", when, amount=-charge["amount"],
                   currency=charge["currency"], fee=fee, source=dispute_id, kind="adjustment", category="dispute",
                   description=f"Chargeback withdrawal for {charge['id']}", available_on=when,
                   fee_kind="Dispute fee")
    dispute = payment_objects.new_dispute(dispute_id, when, charge=charge, reason="fraudulent",
                                          balance_transactions=[dict(txn)])
    if lost:
        dispute["status"] = "lost"
        dispute["evidence_details"]["past_due"] = True
    state.disputes[dispute_id] = dispute
    charge["disputed"] = True


def _payouts(state: StripeState, now: int) -> None:
    """Daily automatic payouts per currency of everything available before today; a day whose net is not
    positive waits for the next day's payout of that currency."""
    today = now // DAY
    # currency -> day -> [net, live transactions, seeded-history transactions (history.py), day, their net]
    by_currency_day: dict[str, dict[int, list[Any]]] = {}
    for txn in state.balance_transactions.values():
        day = txn["available_on"] // DAY
        if day < today:
            entry = by_currency_day.setdefault(txn["currency"], {}).setdefault(day, [0, [], [], day, 0])
            entry[0] += txn["net"]
            entry[1].append(txn)
    if state.history is not None:
        for currency, day, net, ref in state.history.settled_transactions():
            entry = by_currency_day.setdefault(currency, {}).setdefault(day, [0, [], [], day, 0])
            entry[0] += net
            entry[2].append(ref)
            entry[4] += net
    for currency, days in sorted(by_currency_day.items()):
        groups: list[tuple[int, list[list[Any]]]] = []
        carried: list[list[Any]] = []
        for day in sorted(days):
            carried.append(days[day])
            if sum(entry[0] for entry in carried) > 0:
                groups.append((day, carried))
                carried = []
        # Refunds or disputes after the last positive day: settle them in the last payouts rather than leave
        # a negative balance the next real payout would silently absorb.
        while carried and groups:
            day, grouped = groups.pop()
            carried = grouped + carried
            if sum(entry[0] for entry in carried) > 0:
                groups.append((day, carried))
                carried = []
        for day, grouped in groups:
            payout_id = _payout(state, currency, (day + 1) * DAY, sum(entry[0] for entry in grouped),
                                [txn for entry in grouped for txn in entry[1]], now)
            if state.history is not None:
                state.history.paid_out_in(payout_id, currency, [entry[3] for entry in grouped],
                                          [ref for entry in grouped for ref in entry[2]],
                                          sum(entry[4] for entry in grouped))
    state.last_payout_day = today


def _payout(state: StripeState, currency: str, created: int, amount: int, grouped: list[Body], now: int) -> str:
    payout_id = objects.stable_id("po_", currency, created)
    txn = _add_txn(state, "txn_" + _suffix(payout_id), created, amount=-amount, currency=currency, fee=0,
                   source=payout_id, kind="payout", category="payout", description="STRIPE PAYOUT",
                   available_on=created)
    txn["status"] = "available" if created <= now else "pending"
    arrival = created + PAYOUT_TRANSIT
    payout = payment_objects.new_payout(payout_id, created, amount=amount, currency=currency, automatic=True,
                                        arrival_date=arrival, balance_transaction=txn["id"], description=None,
                                        metadata={})
    if arrival <= now:
        payout["status"] = "paid"
        payout["trace_id"] = {"status": "supported", "value": f"TRACE{payout_id[-10:].upper()}"}
    else:
        payout["status"] = "in_transit"
    state.payouts[payout_id] = payout
    for grouped_txn in [*grouped, txn]:
        state.paid_out[grouped_txn["id"]] = payout_id
    return payout_id
