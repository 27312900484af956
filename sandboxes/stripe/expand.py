"""`expand[]`: replace id strings by the objects they name, and add includable fields, only on request.

Paths are dotted (`customer`, `latest_invoice.customer`, `data.customer` inside lists). Stripe lets
each object type expand only some of its fields; anything else is "This property cannot be expanded".
"""

from __future__ import annotations

import copy
from typing import Any

from sandboxes.stripe import objects
from sandboxes.stripe.errors import StripeApiError
from sandboxes.stripe.state import StripeState, newest_first

MAX_DEPTH = 4

EXPANDABLE: dict[str, set[str]] = {
    "customer": {"default_source", "default_payment_method"},
    "invoice": {"customer", "default_payment_method", "subscription", "latest_revision", "from_invoice", "discounts"},
    "invoiceitem": {"customer", "invoice"},
    "line_item": {"invoice_item", "subscription", "subscription_item", "discounts"},
    "product": {"default_price"},
    "price": {"product"},
    "subscription": {"customer", "latest_invoice", "default_payment_method", "discounts"},
    "subscription_item": set(),
    "payment_intent": {"customer", "latest_charge", "payment_method"},
    "charge": {"customer", "balance_transaction", "payment_intent", "failure_balance_transaction"},
    "refund": {"charge", "balance_transaction", "payment_intent"},
    "dispute": {"charge", "payment_intent"},
    "balance_transaction": {"source"},
    "payout": {"balance_transaction", "failure_balance_transaction"},
    "invoice_payment": {"invoice", "payment_intent"},
    "payment_method": {"customer"},
}


def _invoice_payments(state: StripeState, invoice: dict[str, Any]) -> dict[str, Any]:
    payments = [p for p in state.invoice_payments.values() if p["invoice"] == invoice["id"]]
    seeded_id = "inpay_" + invoice["id"][3:]  # a seeded renewal's payment shares its invoice's suffix
    if state.history is not None and not dict.__contains__(state.invoice_payments, seeded_id):
        seeded = state.invoice_payments.peek(seeded_id)
        if seeded is not None:
            payments.append(seeded)
    payments = newest_first(payments)
    return objects.list_object(payments, False, f"/v1/invoice_payments?invoice={invoice['id']}")


def _customer_subscriptions(state: StripeState, customer: dict[str, Any]) -> dict[str, Any]:
    subscriptions = newest_first([s for s in state.subscriptions.values() if s["customer"] == customer["id"]])
    return objects.list_object([state.rendered_subscription(s["id"]) for s in subscriptions[:10]],
                               len(subscriptions) > 10, f"/v1/customers/{customer['id']}/subscriptions")


# Fields a response carries only when asked for with expand[] (Stripe calls them includable).
INCLUDABLE = {
    ("invoice", "payments"): _invoice_payments,
    ("customer", "subscriptions"): _customer_subscriptions,
}


def _not_expandable(path: str) -> StripeApiError:
    return StripeApiError(400, f"This property cannot be expanded ({path}).", param="expand", replayable=False)


def _expand_path(state: StripeState, node: Any, parts: list[str], kind: str | None, full: str) -> None:
    if isinstance(node, list):
        for element in node:
            _expand_path(state, element, parts, kind, full)
        return
    if not isinstance(node, dict) or not parts:
        return
    kind = node.get("object", kind)
    field, rest = parts[0], parts[1:]
    if kind in ("list", "search_result"):
        if field != "data":
            raise _not_expandable(full)
        _expand_path(state, node.get("data", []), rest, None, full)
        return
    includable = INCLUDABLE.get((kind or "", field))
    if includable is not None and field not in node:
        node[field] = includable(state, node)
    value = node.get(field)
    if isinstance(value, str):
        if field not in EXPANDABLE.get(kind or "", set()):
            raise _not_expandable(full)
        rendered = state.render(value)
        if rendered is not None:
            node[field] = value = copy.deepcopy(rendered)
    elif isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        # A list of ids (invoice.discounts): each id becomes its object.
        if field not in EXPANDABLE.get(kind or "", set()):
            raise _not_expandable(full)
        node[field] = value = [copy.deepcopy(state.render(item) or item) for item in value]
    elif field not in node:
        raise _not_expandable(full)
    _expand_path(state, value, rest, kind, full)


def expand_paths(params: dict[str, Any]) -> list[str]:
    raw = params.get("expand")
    if raw is None:
        return []
    paths = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(path, str) for path in paths):
        raise StripeApiError(400, "Invalid array", param="expand", replayable=False)
    for path in paths:
        if path.count(".") >= MAX_DEPTH:
            raise StripeApiError(400, f"You cannot expand more than {MAX_DEPTH} levels of a property. "
                                 f"Property: {path}", param="expand", replayable=False)
    return paths


def apply(state: StripeState, body: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """A copy of `body` with each path expanded (the stored object is never changed)."""
    if not paths:
        return body
    expanded = copy.deepcopy(body)
    for path in paths:
        _expand_path(state, expanded, path.split("."), None, path)
    return expanded
