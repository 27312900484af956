"""Handlers for the Stripe paths: customers, invoices, invoice items, invoice lines.

Each handler takes the state, the decoded parameters, path parameters and the current time, and
returns the JSON body of a 200 answer or raises StripeApiError. The sandbox holds the lock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sandboxes.stripe import billing, discounts, money, objects
from sandboxes.stripe.errors import StripeApiError, invalid_param, missing_param
from sandboxes.stripe.events import previous_attributes
from sandboxes.stripe.history import SeededStore
from sandboxes.stripe.listing import customer_candidates, history_page, list_endpoint, store_page
from sandboxes.stripe.params import (
    currency,
    email,
    merge_metadata,
    optional_bool,
    optional_int,
    optional_str,
    reject_unknown,
    required_str,
)
from sandboxes.stripe.state import SECONDS_PER_DAY, StripeState, newest_first, paginate

Body = dict[str, Any]
Handler = Callable[[StripeState, Body, dict[str, str], int], Body]

_LIST_PARAMS = {"limit", "starting_after", "ending_before"}
_CUSTOMER_FIELDS = {"name", "email", "description", "phone", "metadata", "invoice_prefix", "invoice_settings"}
_INVOICE_STATUSES = {"draft", "open", "paid", "uncollectible", "void"}


def _created_filter(params: Body, name: str = "created") -> Callable[[int], bool]:
    bound = params.get(name)
    if bound is None:
        return lambda _: True
    if isinstance(bound, str):
        exact = optional_int(params, name)
        return lambda value: value == exact
    checks = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
    limits = {}
    for op in bound:
        if op not in checks:
            raise invalid_param(f"{name}[{op}]", f"Received unknown parameter: {name}[{op}]", "parameter_unknown")
        limits[op] = optional_int(bound, op)
    return lambda value: all(checks[op](value, limit) for op, limit in limits.items())


# -- customers -----------------------------------------------------------------------------------


def _default_payment_method(state: StripeState, customer: Body, params: Body, now: int) -> None:
    """`invoice_settings[default_payment_method]`: an attached method, or a test token (pm_card_visa)
    that becomes one, as in Stripe's test mode."""
    settings = params.get("invoice_settings")
    if not isinstance(settings, dict) or "default_payment_method" not in settings:
        return
    reference = settings["default_payment_method"]
    method_id = None
    if reference:
        method = money.payment_method(state, reference, customer["id"], now,
                                      "invoice_settings[default_payment_method]")
        if method["customer"] is None:
            method["customer"] = customer["id"]
        method_id = method["id"]
    customer["invoice_settings"] = {**customer["invoice_settings"], "default_payment_method": method_id}


def create_customer(state: StripeState, params: Body, _: dict[str, str], now: int) -> Body:
    reject_unknown(params, _CUSTOMER_FIELDS | {"payment_method"})
    fields = {
        "name": optional_str(params, "name"), "email": email(params),
        "description": optional_str(params, "description"), "phone": optional_str(params, "phone"),
        "metadata": merge_metadata({}, params), "invoice_prefix": optional_str(params, "invoice_prefix"),
    }
    customer_id = state.ids.new("cus_", 14)  # only after validation, so a rejected call uses no id
    customer = objects.new_customer(customer_id, now, **fields)
    state.customers[customer_id] = customer
    state.emit("customer.created", customer, now)
    token = optional_str(params, "payment_method")
    if token:
        method = money.payment_method(state, token, customer_id, now)
        method["customer"] = customer_id
        settings = params.get("invoice_settings")
        if isinstance(settings, dict) and settings.get("default_payment_method") == token:
            customer["invoice_settings"]["default_payment_method"] = method["id"]
            return customer
    _default_payment_method(state, customer, params, now)
    return customer


def retrieve_customer(state: StripeState, _: Body, path: dict[str, str], __: int) -> Body:
    if path["id"] in state.deleted_customers:  # Stripe answers 200 with the deleted stub, not 404
        return state.deleted_customers[path["id"]]
    return state.customer(path["id"])


def delete_customer(state: StripeState, _: Body, path: dict[str, str], now: int) -> Body:
    """Stripe deletes the customer for good (lists no longer show it; updates get 404) and cancels its
    subscriptions at once; its invoices and charges stay."""
    customer = state.customer(path["id"])
    for subscription in list(state.subscriptions.values()):
        if subscription["customer"] == customer["id"] and subscription["status"] not in ("canceled",
                                                                                         "incomplete_expired"):
            billing.cancel(state, subscription, now)
    del state.customers[customer["id"]]
    stub = {"id": customer["id"], "object": "customer", "deleted": True}
    state.deleted_customers[customer["id"]] = stub
    state.emit("customer.deleted", customer, now)
    return stub


def update_customer(state: StripeState, params: Body, path: dict[str, str], now: int) -> Body:
    reject_unknown(params, _CUSTOMER_FIELDS)
    customer = state.customer(path["id"])
    before = copy.deepcopy(customer)
    changes: Body = {"metadata": merge_metadata(customer["metadata"], params)}
    for field in ("name", "description", "phone", "invoice_prefix"):
        if field in params:
            changes[field] = optional_str(params, field) or None  # "" unsets, as in Stripe
    if "email" in params:
        changes["email"] = email(params)
    customer.update(changes)
    _default_payment_method(state, customer, params, now)
    previous = previous_attributes(before, customer)
    if previous:
        state.emit("customer.updated", customer, now, previous)
    return customer


def list_customers(state: StripeState, params: Body, _: dict[str, str], __: int) -> Body:
    reject_unknown(params, _LIST_PARAMS | {"email", "created"})
    in_range = _created_filter(params)
    wanted_email = optional_str(params, "email")

    def keep(customer: Body) -> bool:
        return in_range(customer["created"]) and (wanted_email is None or customer["email"] == wanted_email)

    if wanted_email is None and isinstance(state.customers, SeededStore):
        # Read the store in its kept (created, id) order only as far as the page needs (100k customers at scale).
        return store_page(state.customers, None, [], params, "/v1/customers", "customer", keep)
    chosen = [customer for customer in state.customers.values() if keep(customer)]
    return paginate(newest_first(chosen), params, "/v1/customers", "customer")


# -- invoices ------------------------------------------------------------------------------------


def _due_date(params: Body, collection_method: str, now: int) -> int | None:
    due_date = optional_int(params, "due_date")
    days_until_due = optional_int(params, "days_until_due", minimum=0)
    if collection_method == "charge_automatically":
        if due_date is not None or days_until_due is not None:
            param = "due_date" if due_date is not None else "days_until_due"
            raise invalid_param(param, f"Invalid {param}: can only be set when collection_method=send_invoice")
        return None
    if due_date is None and days_until_due is None:
        raise invalid_param(
            "days_until_due",
            "Missing required param: days_until_due or due_date when collection_method=send_invoice.",
            code="parameter_missing",
        )
    return due_date if due_date is not None else now + days_until_due * SECONDS_PER_DAY


def create_invoice(state: StripeState, params: Body, _: dict[str, str], now: int) -> Body:
    reject_unknown(params, {"customer", "currency", "collection_method", "due_date", "days_until_due",
                            "description", "metadata", "auto_advance", "pending_invoice_items_behavior",
                            "discounts"})
    customer_id = required_str(params, "customer")
    collection_method = optional_str(params, "collection_method") or "charge_automatically"
    if collection_method not in ("charge_automatically", "send_invoice"):
        raise invalid_param("collection_method", f"Invalid collection_method: {collection_method}")
    behavior = optional_str(params, "pending_invoice_items_behavior") or "exclude"
    if behavior not in ("exclude", "include"):
        raise invalid_param("pending_invoice_items_behavior", f"Invalid pending_invoice_items_behavior: {behavior}")
    due_date = _due_date(params, collection_method, now)
    metadata = merge_metadata({}, params)
    customer = state.customers.get(customer_id)
    if customer is None:
        raise StripeApiError(404, f"No such customer: '{customer_id}'", code="resource_missing", param="customer")
    invoice_currency = currency(params) or customer["currency"] or "usd"
    invoice = objects.new_invoice(
        state.ids.new("in_"), customer, customer_id, invoice_currency, now, collection_method=collection_method,
        due_date=due_date, description=optional_str(params, "description"), metadata=metadata,
        auto_advance=bool(optional_bool(params, "auto_advance")),
    )
    coupons = discounts.coupons_from_params(state.coupons, params, invoice_currency, now)
    invoice["discounts"] = [billing.invoice_discount(state, coupon, invoice, now) for coupon in coupons]
    state.invoices[invoice["id"]] = invoice
    state.lines[invoice["id"]] = []
    if customer["currency"] is None:  # a customer's currency is fixed by its first invoice
        customer["currency"] = invoice_currency
    if behavior == "include":
        for item in state.invoice_items.values():
            if item["customer"] == customer_id and item["invoice"] is None and item["currency"] == invoice_currency:
                _attach_item(state, invoice, item)
    rendered = state.rendered_invoice(invoice["id"])
    state.emit("invoice.created", rendered, now)
    return rendered


def retrieve_invoice(state: StripeState, _: Body, path: dict[str, str], __: int) -> Body:
    return state.rendered_invoice(path["id"])


def list_invoices(state: StripeState, params: Body, _: dict[str, str], __: int) -> Body:
    reject_unknown(params, _LIST_PARAMS | {"customer", "status", "created", "collection_method", "due_date",
                                           "subscription"})
    status = optional_str(params, "status")
    if status is not None and status not in _INVOICE_STATUSES:
        raise invalid_param("status", f"Invalid status: must be one of {', '.join(sorted(_INVOICE_STATUSES))}")
    customer_id = optional_str(params, "customer")
    collection_method = optional_str(params, "collection_method")
    subscription_id = optional_str(params, "subscription")
    created_ok, due_ok = _created_filter(params), _created_filter(params, "due_date")

    def keep(invoice: Body) -> bool:
        return (
            (status is None or invoice["status"] == status)
            and (customer_id is None or invoice["customer"] == customer_id)
            and (collection_method is None or invoice["collection_method"] == collection_method)
            and (subscription_id is None or _invoice_subscription(invoice) == subscription_id)
            and created_ok(invoice["created"] or 0)
            and ("due_date" not in params or (invoice["due_date"] is not None and due_ok(invoice["due_date"])))
        )

    if state.history is None and isinstance(state.invoices, SeededStore):
        page = store_page(state.invoices, None, [], params, "/v1/invoices", "invoice", keep)
    elif state.history is None:
        page = paginate(newest_first([invoice for invoice in state.invoices.values() if keep(invoice)]), params,
                        "/v1/invoices", "invoice")
    else:
        wanted = {name: value for name, value in (("customer", customer_id), ("subscription", subscription_id))
                  if value is not None}
        rows = state.history.rows_for(wanted)
        candidates = customer_candidates(state, state.invoices, wanted)
        if rows is None:
            live = None
        else:
            live = [invoice for invoice in (state.invoices.values() if candidates is None else candidates)
                    if keep(invoice)]
        page = history_page(state, "invoice", live, params, "/v1/invoices", "invoice", keep, sources=
                            state.history.sources("invoice", rows, state.history.status_filter(status)))
    page["data"] = [objects.render_invoice(invoice, state.lines_of(invoice["id"])) for invoice in page["data"]]
    return page


def _invoice_subscription(invoice: Body) -> str | None:
    # Since 2025-03 an invoice names its subscription under parent.subscription_details.
    return ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")


def list_invoice_lines(state: StripeState, params: Body, path: dict[str, str], _: int) -> Body:
    reject_unknown(params, _LIST_PARAMS)
    invoice = state.invoice(path["id"])
    # Lines keep the order they were added in, unlike top-level lists.
    return paginate(state.lines.get(invoice["id"], []), params, f"/v1/invoices/{invoice['id']}/lines", "line_item")


def _attach_item(state: StripeState, invoice: Body, item: Body) -> None:
    item["invoice"] = invoice["id"]
    lines = state.lines.setdefault(invoice["id"], [])
    lines.append(objects.line_from_item(state.ids.new("il_"), item, invoice["id"]))
    billing.recompute(state, invoice, lines)


def finalize_invoice(state: StripeState, params: Body, path: dict[str, str], now: int) -> Body:
    reject_unknown(params, {"auto_advance"})
    invoice = state.invoice(path["id"])
    if invoice["status"] != "draft":
        raise StripeApiError(400, "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                             code="invoice_not_editable")
    billing.finalize(state, invoice, now)
    return state.rendered_invoice(invoice["id"])


# -- invoice items -------------------------------------------------------------------------------


def create_invoice_item(state: StripeState, params: Body, _: dict[str, str], now: int) -> Body:
    reject_unknown(params, {"customer", "invoice", "amount", "currency", "description", "quantity",
                            "unit_amount_decimal", "metadata"})
    customer_id = required_str(params, "customer")
    quantity = optional_int(params, "quantity", minimum=0)
    amount = optional_int(params, "amount")
    unit_decimal = optional_int(params, "unit_amount_decimal", minimum=0)  # whole minor units only here
    if amount is None and unit_decimal is None:
        raise missing_param("amount")
    if amount is not None and unit_decimal is not None:
        raise invalid_param("unit_amount_decimal", "You may only specify one of these parameters: amount, "
                            "unit_amount_decimal.")
    quantity = 1 if quantity is None else quantity
    unit_amount = unit_decimal if unit_decimal is not None else amount // max(quantity, 1)
    total = amount if amount is not None else unit_decimal * quantity
    metadata = merge_metadata({}, params)
    customer = state.customers.get(customer_id)
    if customer is None:
        raise StripeApiError(404, f"No such customer: '{customer_id}'", code="resource_missing", param="customer")
    invoice_id = optional_str(params, "invoice")
    invoice = None
    if invoice_id:
        invoice = state.invoices.get(invoice_id)
        if invoice is None:
            raise StripeApiError(404, f"No such invoice: '{invoice_id}'", code="resource_missing", param="invoice")
        if invoice["status"] != "draft":
            raise StripeApiError(400, f"You can only add invoice items to draft invoices; {invoice_id} is "
                                 f"{invoice['status']}.", code="invoice_not_editable", param="invoice")
        if invoice["customer"] != customer_id:
            raise invalid_param("invoice", f"The invoice {invoice_id} belongs to another customer.")
    item_currency = currency(params) or (invoice or {}).get("currency") or customer["currency"]
    if item_currency is None:
        raise missing_param("currency")
    if invoice is not None and item_currency != invoice["currency"]:
        raise invalid_param("currency", f"The currency of the invoice item ({item_currency}) must match the "
                            f"currency of the invoice ({invoice['currency']}).")
    item = objects.new_invoice_item(
        state.ids.new("ii_"), customer_id, item_currency, now, amount=total, quantity=quantity,
        unit_amount=unit_amount, description=optional_str(params, "description"), invoice_id=None,
        metadata=metadata,
    )
    state.invoice_items[item["id"]] = item
    if invoice is not None:
        _attach_item(state, invoice, item)
    state.emit("invoiceitem.created", item, now)
    return item


def list_invoice_items(state: StripeState, params: Body, _: dict[str, str], __: int) -> Body:
    pending = optional_bool(params, "pending")
    items = [item for item in state.invoice_items.values()
             if pending is None or (item["invoice"] is None) == pending]
    return list_endpoint(items, params, "/v1/invoiceitems", "invoiceitem", equals=("customer", "invoice"),
                         extra=("pending",))


def retrieve_invoice_item(state: StripeState, _: Body, path: dict[str, str], __: int) -> Body:
    return money.require(state.invoice_items, "invoiceitem", path["id"])


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/v1/invoiceitems", list_invoice_items),
    ("GET", "/v1/invoiceitems/{id}", retrieve_invoice_item),
    ("POST", "/v1/customers", create_customer),
    ("GET", "/v1/customers", list_customers),
    ("GET", "/v1/customers/{id}", retrieve_customer),
    ("POST", "/v1/customers/{id}", update_customer),
    ("DELETE", "/v1/customers/{id}", delete_customer),
    ("POST", "/v1/invoices", create_invoice),
    ("GET", "/v1/invoices", list_invoices),
    ("GET", "/v1/invoices/{id}", retrieve_invoice),
    ("GET", "/v1/invoices/{id}/lines", list_invoice_lines),
    ("POST", "/v1/invoices/{id}/finalize", finalize_invoice),
    ("POST", "/v1/invoiceitems", create_invoice_item),
]
