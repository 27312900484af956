"""Billing behaviour: subscription invoices, renewal cycles when the clock passes a period end,
prorations on mid-cycle price changes, exclusive tax rates, and paying invoices with cards.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

from sandboxes.stripe import catalog_objects, currencies, discounts, money, objects, payment_objects
from sandboxes.stripe.errors import StripeApiError
from sandboxes.stripe.events import previous_attributes
from sandboxes.stripe.state import SECONDS_PER_DAY, StripeState

Body = dict[str, Any]
_INTERVAL_DAYS = {"day": 1, "week": 7}


def add_interval(start: int, interval: str, count: int, anchor_day: int | None = None) -> int:
    """The period end Stripe computes: calendar months/years keep the anchor day, clamped to month end."""
    if interval in _INTERVAL_DAYS:
        return start + _INTERVAL_DAYS[interval] * count * SECONDS_PER_DAY
    moment = datetime.fromtimestamp(start, UTC)
    months = count * (12 if interval == "year" else 1)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(anchor_day or moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def _round_minor(numerator: int, denominator: int, currency: str) -> int:
    amount = currencies.round_half_even_div(numerator, denominator)
    if currency in currencies.THREE_DECIMAL:
        amount = currencies.round_half_even_div(amount, 10) * 10
    return amount


# -- invoice lines ---------------------------------------------------------------------------------


def _taxes(state: StripeState, amount: int, tax_rates: list[Body], currency: str) -> list[Body]:
    taxes = []
    for rate in tax_rates:
        stored = state.tax_rates.get(rate["id"], rate)
        inclusive = stored["inclusive"]
        percent_basis = int(stored["percentage"] * 10_000)  # percent with 4 decimals, as an integer
        if inclusive:
            tax = _round_minor(amount * percent_basis, 1_000_000 + percent_basis, currency)
        else:
            tax = _round_minor(amount * percent_basis, 1_000_000, currency)
        taxes.append({"amount": tax, "tax_behavior": "inclusive" if inclusive else "exclusive",
                      "tax_rate_details": {"tax_rate": stored["id"]}, "taxability_reason": "standard_rated",
                      "taxable_amount": amount - tax if inclusive else amount, "type": "tax_rate_details"})
    return taxes


def subscription_line(state: StripeState, invoice_id: str, item: Body, period: tuple[int, int],
                      tax_rates: list[Body]) -> Body:
    price = state.prices[item["price"]]
    product = state.products.get(price["product"], {})
    amount = price["unit_amount"] * item["quantity"]
    return {
        "id": state.ids.new("il_"), "object": "line_item", "amount": amount, "currency": price["currency"],
        "description": f"{item['quantity']} × {product.get('name', price['product'])} (at "
                       f"{currencies.format_amount(price['unit_amount'], price['currency'])} / "
                       f"{price['recurring']['interval']})",
        "discount_amounts": [], "discountable": True, "discounts": [], "invoice": invoice_id, "livemode": False,
        "metadata": dict(item["metadata"]),
        "parent": {"invoice_item_details": None, "subscription_item_details": {
            "invoice_item": None, "proration": False, "proration_details": {"credited_items": None},
            "subscription": item["subscription"], "subscription_item": item["id"]},
            "type": "subscription_item_details"},
        "period": {"end": period[1], "start": period[0]}, "pretax_credit_amounts": [],
        "pricing": {"price_details": {"price": price["id"], "product": price["product"]}, "type": "price_details",
                    "unit_amount_decimal": price["unit_amount_decimal"]},
        "quantity": item["quantity"], "quantity_decimal": str(item["quantity"]),
        "subscription": item["subscription"], "subtotal": amount,
        "taxes": _taxes(state, amount, item["tax_rates"] or tax_rates, price["currency"]),
    }


def _item_line(state: StripeState, invoice_id: str, invoice_item: Body, tax_rates: list[Body]) -> Body:
    line = objects.line_from_item(state.ids.new("il_"), invoice_item, invoice_id)
    subscription = (invoice_item.get("parent") or {}).get("subscription_details", {}).get("subscription")
    line["parent"]["invoice_item_details"].update(proration=invoice_item["proration"], subscription=subscription)
    line["subscription"] = subscription
    line["taxes"] = _taxes(state, invoice_item["amount"], invoice_item["tax_rates"] or tax_rates,
                           invoice_item["currency"])
    return line


def recompute(state: StripeState, invoice: Body, lines: list[Body]) -> None:
    """Totals of an invoice from its lines: discounts first (taxes are charged on discounted amounts)."""
    if invoice["discounts"]:
        pairs = [(state.discounts[d], state.discount_coupons[d]) for d in invoice["discounts"]]
        invoice["total_discount_amounts"] = discounts.allocate(lines, pairs, invoice["currency"])
        for line in lines:
            if line.get("taxes"):
                rates = [state.tax_rates[tax["tax_rate_details"]["tax_rate"]] for tax in line["taxes"]]
                line["taxes"] = _taxes(state, line["amount"] - discounts.line_discount(line), rates, line["currency"])
    recompute_with_taxes(invoice, lines)


def recompute_with_taxes(invoice: Body, lines: list[Body]) -> None:
    objects.recompute_totals(invoice, lines)
    discounted = sum(discounts.line_discount(line) for line in lines)
    exclusive = sum(tax["amount"] for line in lines for tax in line.get("taxes") or []
                    if tax["tax_behavior"] == "exclusive")
    inclusive = sum(tax["amount"] for line in lines for tax in line.get("taxes") or []
                    if tax["tax_behavior"] == "inclusive")
    by_rate: dict[str, Body] = {}
    for line in lines:
        for tax in line.get("taxes") or []:
            entry = by_rate.setdefault(tax["tax_rate_details"]["tax_rate"], {**tax, "amount": 0, "taxable_amount": 0})
            entry["amount"] += tax["amount"]
            entry["taxable_amount"] += tax["taxable_amount"]
    total = invoice["subtotal"] - discounted + exclusive
    invoice.update(total=total, total_excluding_tax=invoice["subtotal"] - discounted - inclusive,
                   subtotal_excluding_tax=invoice["subtotal"] - inclusive, amount_due=total,
                   amount_remaining=total - invoice["amount_paid"], total_taxes=list(by_rate.values()))


# -- invoices for subscriptions ----------------------------------------------------------------------


def subscription_invoice(state: StripeState, subscription: Body, reason: str, now: int,
                         period: tuple[int, int] | None) -> Body:
    """Draft, fill (items for `period`, plus pending invoice items), finalize and try to collect."""
    customer = state.customers.get(subscription["customer"])
    due_date = (now + subscription["days_until_due"] * SECONDS_PER_DAY
                if subscription["collection_method"] == "send_invoice" else None)
    invoice = objects.new_invoice(state.ids.new("in_"), customer, subscription["customer"],
                                  subscription["currency"], now, collection_method=subscription["collection_method"],
                                  due_date=due_date, auto_advance=True)
    invoice["billing_reason"] = reason
    invoice["parent"] = {"quote_details": None, "subscription_details": {
        "metadata": dict(subscription["metadata"]), "subscription": subscription["id"]},
        "type": "subscription_details"}
    invoice["default_payment_method"] = subscription["default_payment_method"]
    tax_rates = subscription["default_tax_rates"]
    lines = []
    for invoice_item in state.invoice_items.values():
        parent = invoice_item.get("parent") or {}
        if invoice_item["invoice"] is None and parent.get("subscription_details", {}).get("subscription") == \
                subscription["id"]:
            invoice_item["invoice"] = invoice["id"]
            lines.append(_item_line(state, invoice["id"], invoice_item, tax_rates))
    if period is not None:
        for item in state.subscription_items.values():
            if item["subscription"] == subscription["id"]:
                lines.append(subscription_line(state, invoice["id"], item, period, tax_rates))
        invoice.update(period_start=period[0], period_end=period[1])
    invoice["discounts"] = _subscription_discounts(state, subscription, now)
    recompute(state, invoice, lines)
    state.invoices[invoice["id"]] = invoice
    state.lines[invoice["id"]] = lines
    state.emit("invoice.created", state.rendered_invoice(invoice["id"]), now)
    finalize(state, invoice, now)
    subscription["latest_invoice"] = invoice["id"]
    if invoice["status"] == "open" and invoice["collection_method"] == "charge_automatically":
        try:
            pay(state, invoice, None, now)
        except StripeApiError as error:
            if error.status != 402 and error.code != "invoice_no_payment_method":
                raise
    return invoice


def _subscription_discounts(state: StripeState, subscription: Body, now: int) -> list[str]:
    """The subscription's discounts this invoice gets; `once` ones are then used up and removed, as are
    `repeating` ones whose months have run out."""
    applying = [d for d in subscription["discounts"] if state.discounts[d]["end"] is None or
                now < state.discounts[d]["end"]]
    subscription["discounts"] = [d for d in applying if state.discount_coupons[d]["duration"] != "once"]
    return applying


def subscription_discount(state: StripeState, coupon: Body, subscription: Body, now: int) -> str:
    """A discount on a subscription from a coupon; `repeating` ones end after duration_in_months."""
    end = add_interval(now, "month", coupon["duration_in_months"]) if coupon["duration"] == "repeating" else None
    return _store_discount(state, coupon, discounts.new_discount(
        state.ids.new("di_"), coupon, now, customer=subscription["customer"], end=end,
        subscription=subscription["id"]))


def invoice_discount(state: StripeState, coupon: Body, invoice: Body, now: int) -> str:
    return _store_discount(state, coupon, discounts.new_discount(
        state.ids.new("di_"), coupon, now, customer=invoice["customer"], end=None, invoice=invoice["id"]))


def _store_discount(state: StripeState, coupon: Body, discount: Body) -> str:
    state.discounts[discount["id"]] = discount
    state.discount_coupons[discount["id"]] = dict(coupon)  # a deleted coupon's discounts keep working
    discounts.redeem(coupon)
    if discount["subscription"] is not None:  # Stripe announces subscription (not invoice) discounts
        state.emit("customer.discount.created", discount, discount["start"])
    return discount["id"]


def finalize(state: StripeState, invoice: Body, now: int) -> None:
    before = state.rendered_invoice(invoice["id"])
    customer = state.customers.get(invoice["customer"])
    if customer is not None:
        invoice["number"] = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
    invoice["status_transitions"]["finalized_at"] = now
    invoice["effective_at"] = now
    invoice["hosted_invoice_url"] = f"https://invoice.stripe.com/i/acct_sandbox/test_{invoice['id']}"
    invoice["invoice_pdf"] = f"https://pay.stripe.com/invoice/acct_sandbox/test_{invoice['id']}/pdf"
    invoice["status"] = "open"
    after = state.rendered_invoice(invoice["id"])
    state.emit("invoice.finalized", after, now, previous_attributes(before, after))
    if invoice["amount_due"] == 0:  # Stripe marks a zero invoice paid as soon as it is finalized
        _mark_paid(state, invoice, None, now)


def _mark_paid(state: StripeState, invoice: Body, intent: Body | None, now: int) -> None:
    before = state.rendered_invoice(invoice["id"])
    amount = invoice["amount_remaining"]
    invoice.update(status="paid", amount_paid=invoice["amount_paid"] + amount, amount_remaining=0)
    invoice["status_transitions"]["paid_at"] = now
    if amount or intent is not None:
        payment = catalog_objects.new_invoice_payment(
            state.ids.new("inpay_"), now, invoice=invoice["id"], currency=invoice["currency"], amount=amount,
            payment_intent=intent["id"] if intent else None, status="paid")
        state.invoice_payments[payment["id"]] = payment
    after = state.rendered_invoice(invoice["id"])
    previous = previous_attributes(before, after)
    state.emit("invoice.paid", after, now, previous)
    state.emit("invoice.payment_succeeded", after, now, previous)
    _subscription_after_payment(state, invoice, paid=True, now=now)


def _default_method(state: StripeState, invoice: Body) -> str | None:
    if invoice["default_payment_method"]:
        return invoice["default_payment_method"]
    subscription_id = ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    subscription = state.subscriptions.get(subscription_id or "")
    if subscription and subscription["default_payment_method"]:
        return subscription["default_payment_method"]
    customer = state.customers.get(invoice["customer"]) or {}
    return (customer.get("invoice_settings") or {}).get("default_payment_method")


def pay(state: StripeState, invoice: Body, method_ref: str | None, now: int, out_of_band: bool = False) -> None:
    """Collect an open invoice: out of band, or with a card through a new payment intent."""
    if invoice["status"] == "paid":
        raise StripeApiError(400, "Invoice is already paid", code="invoice_already_paid")
    if invoice["status"] != "open":
        raise StripeApiError(400, f"You can only pay an open invoice. This invoice is {invoice['status']}.",
                             code="invoice_not_editable")
    if out_of_band:
        _mark_paid(state, invoice, None, now)
        return
    reference = method_ref or _default_method(state, invoice)
    if reference is None:
        raise StripeApiError(400, "This customer has no attached payment source or default payment method. Please "
                             "consider adding a default payment method.", code="invoice_no_payment_method",
                             param="payment_method")
    method = money.payment_method(state, reference, invoice["customer"], now)
    intent = payment_objects.new_payment_intent(
        state.ids.new("pi_"), now, amount=invoice["amount_remaining"], currency=invoice["currency"],
        customer=invoice["customer"], description="Subscription creation" if invoice["billing_reason"] ==
        "subscription_create" else f"Payment for Invoice {invoice['number']}", metadata={},
        payment_method=method["id"], secret=state.ids.new("", 25))
    state.payment_intents[intent["id"]] = intent
    state.emit("payment_intent.created", intent, now)
    before = state.rendered_invoice(invoice["id"])
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    try:
        money.confirm_intent(state, intent, now)
    except StripeApiError as error:
        if error.status == 402:
            after = state.rendered_invoice(invoice["id"])
            state.emit("invoice.payment_failed", after, now, previous_attributes(before, after))
            _subscription_after_payment(state, invoice, paid=False, now=now)
        raise
    _mark_paid(state, invoice, intent, now)


def _subscription_after_payment(state: StripeState, invoice: Body, paid: bool, now: int) -> None:
    subscription_id = ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    subscription = state.subscriptions.get(subscription_id or "")
    if subscription is None:
        return
    before = state.rendered_subscription(subscription["id"])
    if paid and subscription["status"] in ("incomplete", "past_due"):
        subscription["status"] = "active"
    elif not paid and subscription["status"] == "active":
        subscription["status"] = "past_due"
    after = state.rendered_subscription(subscription["id"])
    previous = previous_attributes(before, after)
    if previous:
        state.emit("customer.subscription.updated", after, now, previous)


# -- prorations ------------------------------------------------------------------------------------


def proration_items(state: StripeState, subscription: Body, item: Body, new_price: Body, new_quantity: int,
                    now: int) -> list[Body]:
    """Credit for the unused time on the old price, charge for the remaining time on the new one."""
    start, end = item["current_period_start"], item["current_period_end"]
    if end <= now:
        return []
    remaining, length = end - now, end - start
    old_price = state.prices[item["price"]]
    created = []
    for price, quantity, sign, text in ((old_price, item["quantity"], -1, "Unused time on"),
                                        (new_price, new_quantity, 1, "Remaining time on")):
        amount = sign * _round_minor(price["unit_amount"] * quantity * remaining, length, price["currency"])
        product = state.products.get(price["product"], {})
        when = datetime.fromtimestamp(now, UTC).strftime("%d %b %Y")
        invoice_item = objects.new_invoice_item(
            state.ids.new("ii_"), subscription["customer"], price["currency"], now, amount=amount,
            quantity=quantity, unit_amount=price["unit_amount"],
            description=f"{text} {quantity} × {product.get('name', price['product'])} "
                        f"{'after' if sign < 0 else 'from'} {when}", invoice_id=None)
        invoice_item.update(
            proration=True, period={"end": end, "start": now},
            parent={"subscription_details": {"subscription": subscription["id"],
                                             "subscription_item": item["id"]},
                    "type": "subscription_details"},
            pricing={"price_details": {"price": price["id"], "product": price["product"]}, "type": "price_details",
                     "unit_amount_decimal": price["unit_amount_decimal"]},
        )
        state.invoice_items[invoice_item["id"]] = invoice_item
        state.emit("invoiceitem.created", invoice_item, now)
        created.append(invoice_item)
    return created


# -- the clock ---------------------------------------------------------------------------------------


def run_cycles(state: StripeState, now: int) -> None:
    """Renew every subscription whose period ended by `now` (several times after a long jump)."""
    if now < state.next_cycle_at:
        return  # nothing renews before then (writes reset this, as they may add or move periods)
    items_of: dict[str, list[Body]] = {}  # one pass over the items, not one per subscription (scale)
    for item in state.subscription_items.values():
        items_of.setdefault(item["subscription"], []).append(item)
    for subscription in list(state.subscriptions.values()):
        items = items_of.get(subscription["id"], [])
        while items and subscription["status"] in ("active", "past_due", "incomplete", "trialing"):
            boundary = min(item["current_period_end"] for item in items)
            if boundary > now:
                break
            before = state.rendered_subscription(subscription["id"])
            if subscription["cancel_at_period_end"] or (subscription["cancel_at"] or now + 1) <= boundary:
                cancel(state, subscription, boundary)
                break
            if subscription["status"] == "incomplete":
                subscription["status"] = "incomplete_expired"  # first invoice never paid within the period
                state.emit("customer.subscription.updated", state.rendered_subscription(subscription["id"]),
                           boundary, previous_attributes(before, state.rendered_subscription(subscription["id"])))
                break
            anchor = datetime.fromtimestamp(subscription["billing_cycle_anchor"], UTC).day
            for item in items:
                price = state.prices[item["price"]]
                rec = price["recurring"]
                item["current_period_start"] = item["current_period_end"]
                item["current_period_end"] = add_interval(item["current_period_end"], rec["interval"],
                                                          rec["interval_count"], anchor)
            after = state.rendered_subscription(subscription["id"])
            state.emit("customer.subscription.updated", after, boundary, previous_attributes(before, after))
            period = (items[0]["current_period_start"], items[0]["current_period_end"])
            subscription_invoice(state, subscription, "subscription_cycle", boundary, period)
    live = {subscription["id"] for subscription in state.subscriptions.values()
            if subscription["status"] in ("active", "past_due", "incomplete", "trialing")}
    state.next_cycle_at = min((item["current_period_end"] for item in state.subscription_items.values()
                               if item["subscription"] in live), default=2**62)


def cancel(state: StripeState, subscription: Body, now: int) -> None:
    before = state.rendered_subscription(subscription["id"])
    subscription.update(status="canceled", canceled_at=subscription["canceled_at"] or now, ended_at=now)
    after = state.rendered_subscription(subscription["id"])
    state.emit("customer.subscription.deleted", after, now, previous_attributes(before, after))


def tick(state: StripeState, now: int) -> None:
    """Everything that happens with the passage of (sandbox) time."""
    if now <= state.last_tick:
        return
    state.last_tick = now
    run_cycles(state, now)
    money.refresh_availability(state, now)
    money.run_automatic_payouts(state, now)
    money.advance_payouts(state, now)
    state.event_log.prune(now)

