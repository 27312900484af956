"""Handlers for subscriptions, subscription items, invoice collection (pay, void, uncollectible) and
invoice payments."""

from __future__ import annotations

from typing import Any

from sandboxes.stripe import billing, catalog_objects, discounts, money
from sandboxes.stripe.errors import StripeApiError, invalid_param, missing_param
from sandboxes.stripe.events import previous_attributes
from sandboxes.stripe.listing import list_endpoint
from sandboxes.stripe.params import (
    merge_metadata,
    optional_bool,
    optional_int,
    optional_str,
    reject_unknown,
    required_str,
)
from sandboxes.stripe.state import StripeState

Body = dict[str, Any]
Path = dict[str, str]
_PRORATION = {"create_prorations", "none", "always_invoice"}
_SUB_STATUSES = {"active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused",
                 "trialing", "unpaid"}


def _tax_rates(state: StripeState, params: Body, name: str) -> list[Body]:
    raw = params.get(name)
    if raw in (None, ""):
        return []
    ids = raw if isinstance(raw, list) else [raw]
    return [money.require(state.tax_rates, "tax_rate", rate_id, param=name) for rate_id in ids]


def _items(state: StripeState, params: Body) -> list[tuple[Body, Body]]:
    raw = params.get("items")
    if not isinstance(raw, list) or not raw:
        raise missing_param("items")
    chosen = []
    for index, entry in enumerate(raw):
        price = money.require(state.prices, "price", required_str(entry, "price"), param=f"items[{index}][price]")
        if price["recurring"] is None:
            raise invalid_param(f"items[{index}][price]", "The price specified is set to `type=one_time` but this "
                                "field only accepts prices with `type=recurring`.")
        chosen.append((price, entry))
    first = chosen[0][0]
    for index, (price, _) in enumerate(chosen):
        if price["currency"] != first["currency"]:
            raise invalid_param(f"items[{index}][price]", "All prices on a subscription must have the same currency.")
        if (price["recurring"]["interval"], price["recurring"]["interval_count"]) != \
                (first["recurring"]["interval"], first["recurring"]["interval_count"]):
            raise invalid_param(f"items[{index}][price]", "Currency and interval fields must match across all plans "
                                "on this subscription.")
    return chosen


def create_subscription(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, {"customer", "items", "default_payment_method", "collection_method", "days_until_due",
                            "metadata", "description", "default_tax_rates", "proration_behavior", "payment_behavior",
                            "cancel_at_period_end", "discounts"})
    customer = money.require(state.customers, "customer", required_str(params, "customer"), param="customer")
    chosen = _items(state, params)
    collection_method = optional_str(params, "collection_method") or "charge_automatically"
    if collection_method not in ("charge_automatically", "send_invoice"):
        raise invalid_param("collection_method", f"Invalid collection_method: {collection_method}")
    days_until_due = optional_int(params, "days_until_due", minimum=0)
    if collection_method == "send_invoice" and days_until_due is None:
        raise missing_param("days_until_due")
    tax_rates = _tax_rates(state, params, "default_tax_rates")
    method_ref = optional_str(params, "default_payment_method")
    method = money.payment_method(state, method_ref, customer["id"], now, "default_payment_method") \
        if method_ref else None
    subscription = catalog_objects.new_subscription(
        state.ids.new("sub_"), now, customer=customer["id"], currency=chosen[0][0]["currency"],
        collection_method=collection_method, days_until_due=days_until_due,
        default_payment_method=method["id"] if method else None, description=optional_str(params, "description"),
        metadata=merge_metadata({}, params), default_tax_rates=tax_rates,
    )
    subscription["cancel_at_period_end"] = bool(optional_bool(params, "cancel_at_period_end"))
    if customer["currency"] is None:
        customer["currency"] = subscription["currency"]
    coupons = discounts.coupons_from_params(state.coupons, params, subscription["currency"], now)
    state.subscriptions[subscription["id"]] = subscription
    subscription["discounts"] = [billing.subscription_discount(state, coupon, subscription, now)
                                 for coupon in coupons]
    for price, entry in chosen:
        rec = price["recurring"]
        item = catalog_objects.new_subscription_item(
            state.ids.new("si_", 14), now, subscription=subscription["id"], price=price["id"],
            quantity=optional_int(entry, "quantity", minimum=0) or 1,
            period_start=now, period_end=billing.add_interval(now, rec["interval"], rec["interval_count"]),
            metadata=merge_metadata({}, entry), tax_rates=_tax_rates(state, entry, "tax_rates"),
        )
        state.subscription_items[item["id"]] = item
    if collection_method == "send_invoice":
        subscription["status"] = "active"
    state.emit("customer.subscription.created", state.rendered_subscription(subscription["id"]), now)
    first_item = next(i for i in state.subscription_items.values() if i["subscription"] == subscription["id"])
    billing.subscription_invoice(state, subscription, "subscription_create", now,
                                 (first_item["current_period_start"], first_item["current_period_end"]))
    return state.rendered_subscription(subscription["id"])


def retrieve_subscription(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return state.rendered_subscription(path["id"])


def update_subscription(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"items", "proration_behavior", "cancel_at_period_end", "metadata", "description",
                            "default_payment_method", "default_tax_rates", "payment_behavior"})
    subscription = money.require(state.subscriptions, "subscription", path["id"])
    if subscription["status"] in ("canceled", "incomplete_expired"):
        raise StripeApiError(400, "A canceled subscription can only update its cancellation_details and metadata.",
                             param="items" if "items" in params else None)
    behaviour = optional_str(params, "proration_behavior") or "create_prorations"
    if behaviour not in _PRORATION:
        raise invalid_param("proration_behavior", "Invalid proration_behavior: must be one of always_invoice, "
                            "create_prorations, or none")
    before = state.rendered_subscription(subscription["id"])
    prorated = False
    for index, entry in enumerate(params.get("items") or []):
        item = money.require(state.subscription_items, "subscription_item", required_str(entry, "id"),
                             param=f"items[{index}][id]")
        price_id = optional_str(entry, "price") or item["price"]
        price = money.require(state.prices, "price", price_id, param=f"items[{index}][price]")
        quantity = optional_int(entry, "quantity", minimum=0)
        quantity = item["quantity"] if quantity is None else quantity
        if price["currency"] != subscription["currency"]:
            raise invalid_param(f"items[{index}][price]", "All prices on a subscription must have the same "
                                "currency.")
        if behaviour != "none" and (price["id"], quantity) != (item["price"], item["quantity"]):
            prorated = bool(billing.proration_items(state, subscription, item, price, quantity, now)) or prorated
        item.update(price=price["id"], quantity=quantity, metadata=merge_metadata(item["metadata"], entry))
    changes: Body = {"metadata": merge_metadata(subscription["metadata"], params)}
    if "cancel_at_period_end" in params:
        changes["cancel_at_period_end"] = bool(optional_bool(params, "cancel_at_period_end"))
        changes["canceled_at"] = now if changes["cancel_at_period_end"] else None
    if "description" in params:
        changes["description"] = optional_str(params, "description") or None
    if "default_payment_method" in params:
        reference = optional_str(params, "default_payment_method")
        changes["default_payment_method"] = money.payment_method(
            state, reference, subscription["customer"], now, "default_payment_method")["id"] if reference else None
    if "default_tax_rates" in params:
        changes["default_tax_rates"] = _tax_rates(state, params, "default_tax_rates")
    subscription.update(changes)
    after = state.rendered_subscription(subscription["id"])
    previous = previous_attributes(before, after)
    if previous:
        state.emit("customer.subscription.updated", after, now, previous)
    if prorated and behaviour == "always_invoice":
        billing.subscription_invoice(state, subscription, "subscription_update", now, None)
    return state.rendered_subscription(subscription["id"])


def cancel_subscription(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"invoice_now", "prorate", "cancellation_details"})
    subscription = money.require(state.subscriptions, "subscription", path["id"])
    if subscription["status"] == "canceled":
        raise StripeApiError(404, f"No such subscription: '{subscription['id']}'", code="resource_missing",
                             param="id")
    billing.cancel(state, subscription, now)
    return state.rendered_subscription(subscription["id"])


def list_subscriptions(state: StripeState, params: Body, _: Path, __: int) -> Body:
    status = optional_str(params, "status")
    if status is not None and status not in _SUB_STATUSES:
        raise invalid_param("status", f"Invalid status: must be one of {', '.join(sorted(_SUB_STATUSES))}")
    price_id = optional_str(params, "price")
    chosen = []
    for subscription in state.subscriptions.values():
        if status is None and subscription["status"] in ("canceled", "incomplete_expired"):
            continue  # Stripe lists canceled subscriptions only when asked (status=canceled or all)
        if status not in (None, "all") and (status == "ended" and subscription["status"] not in
                                            ("canceled", "incomplete_expired")
                                            or status != "ended" and subscription["status"] != status):
            continue
        if price_id and not any(item["price"] == price_id for item in state.subscription_items.values()
                                if item["subscription"] == subscription["id"]):
            continue
        chosen.append(subscription)
    page = list_endpoint(chosen, params, "/v1/subscriptions", "subscription", equals=("customer",),
                         ranges=("created",), extra=("status", "price", "collection_method"))
    page["data"] = [state.rendered_subscription(sub["id"]) for sub in page["data"]]
    return page


def list_subscription_items(state: StripeState, params: Body, _: Path, __: int) -> Body:
    subscription_id = required_str(params, "subscription")
    items = [state.render(item["id"]) for item in state.subscription_items.values()
             if item["subscription"] == subscription_id]
    return list_endpoint(items, params, "/v1/subscription_items", "subscription_item", ranges=(),
                         extra=("subscription",))


def retrieve_subscription_item(state: StripeState, _: Body, path: Path, __: int) -> Body:
    money.require(state.subscription_items, "subscription_item", path["id"])
    return state.render(path["id"]) or {}


# -- invoice collection ------------------------------------------------------------------------------


def pay_invoice(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"payment_method", "paid_out_of_band", "off_session"})
    invoice = money.require(state.invoices, "invoice", path["id"])
    if invoice["status"] == "draft":  # paying a draft finalizes it first, as at Stripe
        billing.finalize(state, invoice, now)
        if invoice["status"] == "paid":  # a zero total is paid by finalizing
            return state.rendered_invoice(invoice["id"])
    billing.pay(state, invoice, optional_str(params, "payment_method"), now,
                out_of_band=bool(optional_bool(params, "paid_out_of_band")))
    return state.rendered_invoice(invoice["id"])


def _close_invoice(state: StripeState, invoice_id: str, status: str, transition: str, event: str, now: int) -> Body:
    invoice = money.require(state.invoices, "invoice", invoice_id)
    if invoice["status"] != "open":
        raise StripeApiError(400, f"You can only {'void' if status == 'void' else 'mark as uncollectible'} open "
                             f"invoices. This invoice is {invoice['status']}.", code="invoice_not_editable")
    before = state.rendered_invoice(invoice_id)
    invoice["status"] = status
    invoice["status_transitions"][transition] = now
    after = state.rendered_invoice(invoice_id)
    state.emit(event, after, now, previous_attributes(before, after))
    return after


def void_invoice(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, set())
    return _close_invoice(state, path["id"], "void", "voided_at", "invoice.voided", now)


def mark_uncollectible(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, set())
    return _close_invoice(state, path["id"], "uncollectible", "marked_uncollectible_at",
                          "invoice.marked_uncollectible", now)


def list_invoice_payments(state: StripeState, params: Body, _: Path, __: int) -> Body:
    return list_endpoint(state.invoice_payments, params, "/v1/invoice_payments", "invoice_payment",
                         equals=("invoice", "status"), ranges=("created",), state=state, kind="invoice_payment")


def retrieve_invoice_payment(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return money.require(state.invoice_payments, "invoice_payment", path["id"])


ROUTES = [
    ("POST", "/v1/subscriptions", create_subscription), ("GET", "/v1/subscriptions", list_subscriptions),
    ("GET", "/v1/subscriptions/{id}", retrieve_subscription), ("POST", "/v1/subscriptions/{id}", update_subscription),
    ("DELETE", "/v1/subscriptions/{id}", cancel_subscription),
    ("GET", "/v1/subscription_items", list_subscription_items),
    ("GET", "/v1/subscription_items/{id}", retrieve_subscription_item),
    ("POST", "/v1/invoices/{id}/pay", pay_invoice), ("POST", "/v1/invoices/{id}/void", void_invoice),
    ("POST", "/v1/invoices/{id}/mark_uncollectible", mark_uncollectible),
    ("GET", "/v1/invoice_payments", list_invoice_payments),
    ("GET", "/v1/invoice_payments/{id}", retrieve_invoice_payment),
]
