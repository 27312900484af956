"""Handlers for payment methods, payment intents, charges, refunds, disputes, balance transactions,
the balance and payouts."""

from __future__ import annotations

import copy
from typing import Any

from sandboxes.stripe import currencies, money, payment_objects
from sandboxes.stripe.errors import StripeApiError, invalid_param, missing_param
from sandboxes.stripe.events import previous_attributes
from sandboxes.stripe.history import SeededStore
from sandboxes.stripe.listing import list_endpoint
from sandboxes.stripe.params import (
    currency,
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


# -- payment methods ---------------------------------------------------------------------------------


def retrieve_payment_method(state: StripeState, _: Body, path: Path, now: int) -> Body:
    if path["id"] in payment_objects.TEST_CARDS or path["id"] in payment_objects.SPECIAL_CODES:
        return money.payment_method(state, path["id"], None, now)
    return money.require(state.payment_methods, "payment_method", path["id"])


def attach_payment_method(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"customer"})
    customer = money.require(state.customers, "customer", required_str(params, "customer"), param="customer")
    method = money.payment_method(state, path["id"], customer["id"], now)
    if method["customer"] not in (None, customer["id"]):
        raise invalid_param("customer", "The payment method you provided has already been attached to a customer.")
    if method["customer"] is None:
        method["customer"] = customer["id"]
        state.emit("payment_method.attached", method, now)
    return method


def list_customer_payment_methods(state: StripeState, params: Body, path: Path, _: int) -> Body:
    money.require(state.customers, "customer", path["id"])
    methods = [m for m in state.payment_methods.values() if m["customer"] == path["id"]]
    return list_endpoint(methods, params, f"/v1/customers/{path['id']}/payment_methods", "payment_method",
                         equals=("type",), ranges=())


# -- payment intents ---------------------------------------------------------------------------------


def create_payment_intent(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, {"amount", "currency", "customer", "payment_method", "confirm", "description", "metadata",
                            "payment_method_types", "automatic_payment_methods", "receipt_email", "off_session",
                            "capture_method", "statement_descriptor", "setup_future_usage"})
    amount = optional_int(params, "amount", minimum=1)
    if amount is None:
        raise missing_param("amount")
    intent_currency = currency(params)
    if intent_currency is None:
        raise missing_param("currency")
    currencies.validate_amount(amount, intent_currency, charge=True)
    if (optional_str(params, "capture_method") or "automatic") not in ("automatic", "automatic_async"):
        raise invalid_param("capture_method", "The sandbox captures automatically only (capture_method=automatic).")
    customer_id = optional_str(params, "customer")
    if customer_id:
        money.require(state.customers, "customer", customer_id, param="customer")
    metadata = merge_metadata({}, params)
    method_ref = optional_str(params, "payment_method")
    method = money.payment_method(state, method_ref, customer_id, now) if method_ref else None
    intent = payment_objects.new_payment_intent(
        state.ids.new("pi_"), now, amount=amount, currency=intent_currency, customer=customer_id or None,
        description=optional_str(params, "description"), metadata=metadata,
        payment_method=method["id"] if method else None, secret=state.ids.new("", 25),
    )
    intent["receipt_email"] = optional_str(params, "receipt_email")
    state.payment_intents[intent["id"]] = intent
    state.emit("payment_intent.created", intent, now)
    if optional_bool(params, "confirm"):
        money.confirm_intent(state, intent, now)
    return intent


def confirm_payment_intent(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"payment_method", "off_session", "return_url", "receipt_email"})
    intent = money.require(state.payment_intents, "payment_intent", path["id"])
    method_ref = optional_str(params, "payment_method")
    if method_ref:
        intent["payment_method"] = money.payment_method(state, method_ref, intent["customer"], now)["id"]
    return money.confirm_intent(state, intent, now)


def cancel_payment_intent(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"cancellation_reason"})
    intent = money.require(state.payment_intents, "payment_intent", path["id"])
    if intent["status"] in ("succeeded", "canceled"):
        raise StripeApiError(400, f"You cannot cancel this PaymentIntent because it has a status of "
                             f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
                             "canceled: requires_payment_method, requires_capture, requires_confirmation, "
                             "requires_action, processing.", code="payment_intent_unexpected_state")
    before = copy.deepcopy(intent)
    intent.update(status="canceled", canceled_at=now,
                  cancellation_reason=optional_str(params, "cancellation_reason") or "requested_by_customer")
    state.emit("payment_intent.canceled", intent, now, previous_attributes(before, intent))
    return intent


def retrieve_payment_intent(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return money.require(state.payment_intents, "payment_intent", path["id"])


def list_payment_intents(state: StripeState, params: Body, _: Path, __: int) -> Body:
    return list_endpoint(state.payment_intents, params, "/v1/payment_intents", "payment_intent",
                         equals=("customer",), state=state, kind="payment_intent")


# -- charges, refunds, disputes ------------------------------------------------------------------------


def retrieve_charge(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return state.rendered_charge(path["id"])


def list_charges(state: StripeState, params: Body, _: Path, __: int) -> Body:
    page = list_endpoint(state.charges, params, "/v1/charges", "charge",
                         equals=("customer", "payment_intent"), extra=("transfer_group",), state=state, kind="charge")
    page["data"] = state.charges_with_refunds(page["data"])
    return page


def create_refund(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, {"charge", "payment_intent", "amount", "reason", "metadata"})
    charge_id, intent_id = optional_str(params, "charge"), optional_str(params, "payment_intent")
    if not charge_id and not intent_id:
        raise missing_param("charge")
    if intent_id:
        intent = money.require(state.payment_intents, "payment_intent", intent_id, param="payment_intent")
        if intent["latest_charge"] is None or intent["status"] != "succeeded":
            raise invalid_param("payment_intent", f"This PaymentIntent ({intent_id}) does not have a successful "
                                "charge to refund.")
        charge_id = intent["latest_charge"]
    charge = money.require(state.charges, "charge", charge_id or "", param="charge")
    reason = optional_str(params, "reason")
    if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
        raise invalid_param("reason", "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer")
    amount = optional_int(params, "amount", minimum=1)
    return money.refund(state, charge, amount, reason, merge_metadata({}, params), now)


def retrieve_refund(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return money.require(state.refunds, "refund", path["id"])


def update_refund(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"metadata"})
    refund = money.require(state.refunds, "refund", path["id"])
    before = copy.deepcopy(refund)
    refund["metadata"] = merge_metadata(refund["metadata"], params)
    previous = previous_attributes(before, refund)
    if previous:
        state.emit("refund.updated", refund, now, previous)
    return refund


def list_refunds(state: StripeState, params: Body, _: Path, __: int) -> Body:
    return list_endpoint(state.refunds, params, "/v1/refunds", "refund",
                         equals=("charge", "payment_intent"), state=state, kind="refund")


def list_charge_refunds(state: StripeState, params: Body, path: Path, __: int) -> Body:
    money.require(state.charges, "charge", path["id"])
    refunds = [refund for refund in state.refunds.values() if refund["charge"] == path["id"]]
    if state.history is None:
        return list_endpoint(refunds, params, f"/v1/charges/{path['id']}/refunds", "refund", ranges=())
    return list_endpoint(refunds, params, f"/v1/charges/{path['id']}/refunds", "refund", ranges=(), state=state,
                         kind="refund", keep=lambda refund: refund["charge"] == path["id"],
                         sources=state.history.sources("refund", state.history.rows_for({"charge": path["id"]})))


def retrieve_dispute(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return money.require(state.disputes, "dispute", path["id"])


def list_disputes(state: StripeState, params: Body, _: Path, __: int) -> Body:
    return list_endpoint(state.disputes, params, "/v1/disputes", "dispute",
                         equals=("charge", "payment_intent"), state=state, kind="dispute")


def update_dispute(state: StripeState, params: Body, path: Path, now: int) -> Body:
    """Evidence and metadata; `submit=true` decides it as Stripe's test mode does: evidence text
    `winning_evidence` wins, `losing_evidence` loses, anything else leaves it under review."""
    reject_unknown(params, {"evidence", "metadata", "submit"})
    dispute = money.require(state.disputes, "dispute", path["id"])
    if dispute["status"] in ("won", "lost"):
        raise StripeApiError(400, f"This dispute is already closed ({dispute['status']}).")
    before = copy.deepcopy(dispute)
    evidence = params.get("evidence") or {}
    if not isinstance(evidence, dict):
        raise invalid_param("evidence", "Invalid object")
    for key, value in evidence.items():
        if key not in dispute["evidence"]:
            raise invalid_param(f"evidence[{key}]", f"Received unknown parameter: evidence[{key}]",
                                "parameter_unknown")
        dispute["evidence"][key] = value or None
    dispute["metadata"] = merge_metadata(dispute["metadata"], params)
    dispute["evidence_details"]["has_evidence"] = any(v for k, v in dispute["evidence"].items()
                                                      if k != "enhanced_evidence")
    submit = optional_bool(params, "submit")
    if submit is not False and evidence:
        dispute["status"] = "under_review"
        dispute["evidence_details"]["submission_count"] += 1
    state.emit("charge.dispute.updated", dispute, now, previous_attributes(before, dispute))
    text = dispute["evidence"].get("uncategorized_text")
    if dispute["status"] == "under_review" and text in ("winning_evidence", "losing_evidence"):
        money.settle_dispute(state, dispute, text == "winning_evidence", now)
    return dispute


def close_dispute(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, set())
    dispute = money.require(state.disputes, "dispute", path["id"])
    if dispute["status"] in ("won", "lost"):
        raise StripeApiError(400, f"This dispute is already closed ({dispute['status']}).")
    money.settle_dispute(state, dispute, False, now)
    return dispute


# -- balance, balance transactions, payouts ------------------------------------------------------------


def retrieve_balance(state: StripeState, params: Body, _: Path, __: int) -> Body:
    reject_unknown(params, set())
    return money.balance(state)


def list_balance_transactions(state: StripeState, params: Body, _: Path, __: int) -> Body:
    payout_id = optional_str(params, "payout")
    items: Any = state.balance_transactions
    if payout_id:
        payout = money.require(state.payouts, "payout", payout_id, param="payout")
        if not payout["automatic"]:
            raise invalid_param("payout", "Balance transaction history can only be filtered on automatic transfers, "
                                "not manual.")
        if isinstance(state.paid_out, SeededStore) and state.history is not None:
            # The index, not a pass over every transaction; seeded-history ones come from the payout's rows.
            history = state.history
            items = [state.balance_transactions[txn_id] for txn_id in state.paid_out.keys_with(payout_id)
                     if history.paid_out(txn_id) is None]
        else:
            items = [txn for txn in items.values() if state.paid_out.get(txn["id"]) == payout_id]
    sources = state.history.payout_sources(payout_id) if payout_id and state.history is not None else None
    return list_endpoint(items, params, "/v1/balance_transactions", "balance_transaction",
                         equals=("type", "source", "currency"), extra=("payout",), state=state,
                         kind="balance_transaction", sources=sources, skip_live=sources is None)


def retrieve_balance_transaction(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return money.require(state.balance_transactions, "balance_transaction", path["id"])


def create_payout(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, {"amount", "currency", "description", "metadata", "method", "statement_descriptor"})
    amount = optional_int(params, "amount", minimum=1)
    if amount is None:
        raise missing_param("amount")
    payout_currency = currency(params)
    if payout_currency is None:
        raise missing_param("currency")
    currencies.validate_amount(amount, payout_currency)
    return money.create_payout(state, amount, payout_currency, now, automatic=False,
                               description=optional_str(params, "description"), metadata=merge_metadata({}, params))


def retrieve_payout(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return money.require(state.payouts, "payout", path["id"])


def list_payouts(state: StripeState, params: Body, _: Path, __: int) -> Body:
    return list_endpoint(state.payouts.values(), params, "/v1/payouts", "payout", equals=("status", "currency"),
                         ranges=("created", "arrival_date"), extra=("destination",))


ROUTES = [
    ("GET", "/v1/payment_methods/{id}", retrieve_payment_method),
    ("POST", "/v1/payment_methods/{id}/attach", attach_payment_method),
    ("GET", "/v1/customers/{id}/payment_methods", list_customer_payment_methods),
    ("POST", "/v1/payment_intents", create_payment_intent), ("GET", "/v1/payment_intents", list_payment_intents),
    ("GET", "/v1/payment_intents/{id}", retrieve_payment_intent),
    ("POST", "/v1/payment_intents/{id}/confirm", confirm_payment_intent),
    ("POST", "/v1/payment_intents/{id}/cancel", cancel_payment_intent),
    ("GET", "/v1/charges", list_charges), ("GET", "/v1/charges/{id}", retrieve_charge),
    ("GET", "/v1/charges/{id}/refunds", list_charge_refunds),
    ("POST", "/v1/refunds", create_refund), ("GET", "/v1/refunds", list_refunds),
    ("GET", "/v1/refunds/{id}", retrieve_refund), ("POST", "/v1/refunds/{id}", update_refund),
    ("GET", "/v1/disputes", list_disputes), ("GET", "/v1/disputes/{id}", retrieve_dispute),
    ("POST", "/v1/disputes/{id}", update_dispute), ("POST", "/v1/disputes/{id}/close", close_dispute),
    ("GET", "/v1/balance", retrieve_balance),
    ("GET", "/v1/balance_transactions", list_balance_transactions),
    ("GET", "/v1/balance_transactions/{id}", retrieve_balance_transaction),
    ("POST", "/v1/payouts", create_payout), ("GET", "/v1/payouts", list_payouts),
    ("GET", "/v1/payouts/{id}", retrieve_payout),
]
