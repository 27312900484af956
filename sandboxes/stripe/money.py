"""Money movement: confirming payment intents with test cards, refunds, disputes, the balance and
automatic payouts that group available balance transactions (with their fees).

Functions mutate the state (callers hold its lock) and emit the events Stripe would.
"""

from __future__ import annotations

import copy
from typing import Any

from sandboxes.stripe import currencies, payment_objects
from sandboxes.stripe.errors import StripeApiError, invalid_param, missing
from sandboxes.stripe.events import previous_attributes
from sandboxes.stripe.state import SECONDS_PER_DAY, StripeState

Body = dict[str, Any]
# US accounts: card funds become available two days after the charge; payouts arrive two days later.
AVAILABILITY_DELAY = 2 * SECONDS_PER_DAY
PAYOUT_TRANSIT = 2 * SECONDS_PER_DAY


def payment_method(state: StripeState, reference: str, customer: str | None, now: int,
                   param: str = "payment_method") -> Body:
    """A stored payment method, or a new one made from a test token such as pm_card_visa."""
    known = payment_objects.TEST_CARDS.get(reference) or payment_objects.SPECIAL_CODES.get(reference)
    if known is not None:
        method = payment_objects.new_payment_method(state.ids.new("pm_"), now, brand=known[0], last4=known[1],
                                                    customer=customer, token=reference)
        state.payment_methods[method["id"]] = method
        state.card_tokens[method["id"]] = reference
        if customer is not None:
            state.emit("payment_method.attached", method, now)
        return method
    method = state.payment_methods.get(reference)
    if method is None:
        raise StripeApiError(404, f"No such PaymentMethod: '{reference}'", code="resource_missing", param=param)
    return method


def _failure(state: StripeState, method: Body) -> tuple[str, str, str] | None:
    """(error code, decline code, message) of the card's test behaviour, or None when it pays."""
    token = state.card_tokens.get(method["id"], "")
    special = payment_objects.SPECIAL_CODES.get(token)
    if special is not None:
        return special[2], special[2], special[3]
    behaviour = payment_objects.TEST_CARDS.get(token, ("", "", None))[2]
    if isinstance(behaviour, tuple):
        return "card_declined", behaviour[0], behaviour[1]
    return None


def _balance_transaction(state: StripeState, now: int, *, amount: int, currency: str, fee: int, source: str,
                         kind: str, category: str, description: str | None, available_on: int) -> Body:
    details = [payment_objects.fee_detail(fee, currency, "stripe_fee", "Stripe processing fees")] if fee else []
    txn = payment_objects.new_balance_transaction(
        state.ids.new("txn_"), now, amount=amount, currency=currency, fee=fee, fee_details=details, source=source,
        kind=kind, reporting_category=category, description=description, available_on=available_on,
    )
    if available_on <= now:
        txn["status"] = "available"
    state.balance_transactions[txn["id"]] = txn
    return txn


def confirm_intent(state: StripeState, intent: Body, now: int) -> Body:
    """Charge the intent's payment method; a decline raises Stripe's 402 card_error (state is kept)."""
    if intent["status"] not in ("requires_confirmation", "requires_payment_method"):
        raise StripeApiError(400, f"This PaymentIntent's status is {intent['status']}, but it must be "
                             "requires_payment_method or requires_confirmation to be confirmed.",
                             code="payment_intent_unexpected_state", replayable=True)
    if intent["payment_method"] is None:
        raise StripeApiError(400, "You cannot confirm this PaymentIntent because it's missing a payment method. "
                             "To confirm the PaymentIntent with cus_xxx, specify a payment method attached to this "
                             "customer along with the customer ID.", code="payment_intent_unexpected_state",
                             param="payment_method")
    method = state.payment_methods[intent["payment_method"]]
    failure = _failure(state, method)
    charge_id = state.ids.new("ch_")
    txn_id = None
    if failure is None:
        fee = currencies.card_fee(intent["amount"], intent["currency"])
        txn_id = _balance_transaction(
            state, now, amount=intent["amount"], currency=intent["currency"], fee=fee, source=charge_id,
            kind="charge", category="charge", description=intent["description"],
            available_on=now + AVAILABILITY_DELAY,
        )["id"]
    charge = payment_objects.new_charge(charge_id, now, intent=intent, method=method, failure=failure,
                                        balance_transaction=txn_id)
    state.charges[charge_id] = charge
    before = copy.deepcopy(intent)
    intent["latest_charge"] = charge_id
    if failure is None:
        intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
        state.emit("charge.succeeded", state.rendered_charge(charge_id), now)
        state.emit("payment_intent.succeeded", intent, now, previous_attributes(before, intent))
        if state.card_tokens.get(method["id"]) == "pm_card_createDispute":
            open_dispute(state, charge, "fraudulent", now)
        return intent
    code, decline_code, message = failure
    error_fields = {"charge": charge_id, "decline_code": decline_code,
                    "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
                    "message": message, "payment_method": copy.deepcopy(method), "type": "card_error"}
    intent.update(status="requires_payment_method", last_payment_error={"code": code, **error_fields})
    state.emit("charge.failed", state.rendered_charge(charge_id), now)
    state.emit("payment_intent.payment_failed", intent, now, previous_attributes(before, intent))
    raise StripeApiError(402, message, type="card_error", code=code,
                         extra={"charge": charge_id, "decline_code": decline_code,
                                "payment_intent": copy.deepcopy(intent), "payment_method": copy.deepcopy(method)})


def refund(state: StripeState, charge: Body, amount: int | None, reason: str | None, metadata: dict[str, str],
           now: int) -> Body:
    if charge["status"] != "succeeded":
        raise invalid_param("charge", f"Charge {charge['id']} has not succeeded; only successful charges can be "
                            "refunded.")
    if charge["disputed"]:
        raise StripeApiError(400, f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                             code="charge_disputed", param="charge")
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining == 0:
        raise StripeApiError(400, f"Charge {charge['id']} has already been refunded.",
                             code="charge_already_refunded", param="charge")
    amount = remaining if amount is None else amount
    if amount > remaining:
        currency = charge["currency"]
        raise invalid_param("amount", f"Refund amount ({currencies.format_amount(amount, currency)} "
                            f"{currency}) is greater than unrefunded amount on charge "
                            f"({currencies.format_amount(remaining, currency)} {currency})", "amount_too_large")
    currencies.validate_amount(amount, charge["currency"])
    refund_id = state.ids.new("re_")
    txn = _balance_transaction(state, now, amount=-amount, currency=charge["currency"], fee=0, source=refund_id,
                               kind="refund", category="refund", description="REFUND FOR CHARGE",
                               available_on=now)
    created = payment_objects.new_refund(refund_id, now, charge=charge, amount=amount, reason=reason,
                                         metadata=metadata, balance_transaction=txn["id"])
    state.refunds[refund_id] = created
    before = state.rendered_charge(charge["id"])
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    after = state.rendered_charge(charge["id"])
    state.emit("refund.created", created, now)
    state.emit("charge.refunded", after, now, previous_attributes(before, after))
    return created


def open_dispute(state: StripeState, charge: Body, reason: str, now: int) -> Body:
    dispute_id = state.ids.new("dp_")
    fee = currencies.dispute_fee(charge["currency"])
    txn = _balance_transaction(state, now, amount=-charge["amount"], currency=charge["currency"], fee=fee,
                               source=dispute_id, kind="adjustment", category="dispute",
                               description=f"Chargeback withdrawal for {charge['id']}", available_on=now)
    txn["fee_details"] = [payment_objects.fee_detail(fee, charge["currency"], "stripe_fee", "Dispute fee")]
    dispute = payment_objects.new_dispute(dispute_id, now, charge=charge, reason=reason,
                                          balance_transactions=[copy.deepcopy(txn)])
    state.disputes[dispute_id] = dispute
    charge["disputed"] = True
    state.emit("charge.dispute.created", dispute, now)
    return dispute


def settle_dispute(state: StripeState, dispute: Body, won: bool, now: int) -> None:
    """Close a dispute: lost keeps the withdrawal; won returns the disputed amount (not the fee)."""
    before = copy.deepcopy(dispute)
    dispute["status"] = "won" if won else "lost"
    if won:
        txn = _balance_transaction(state, now, amount=dispute["amount"], currency=dispute["currency"], fee=0,
                                   source=dispute["id"], kind="adjustment", category="dispute_reversal",
                                   description=f"Chargeback reversal for {dispute['charge']}", available_on=now)
        dispute["balance_transactions"].append(copy.deepcopy(txn))
    state.emit("charge.dispute.closed", dispute, now, previous_attributes(before, dispute))


# -- balance and payouts ---------------------------------------------------------------------------


def refresh_availability(state: StripeState, now: int) -> None:
    for txn in state.balance_transactions.values():
        if txn["status"] == "pending" and txn["available_on"] <= now:
            txn["status"] = "available"


def balance(state: StripeState) -> Body:
    totals: dict[str, dict[str, int]] = {}
    history = state.history
    for txn in state.balance_transactions.values():
        if history is not None and history.is_virtual(txn["id"]) and history.paid_out(txn["id"]) is not None:
            continue  # counted in virtual_net below (a seeded-history transaction someone read)
        bucket = totals.setdefault(txn["currency"], {"available": 0, "pending": 0})
        bucket[txn["status"]] += txn["net"]
    for currency, net in (history.virtual_net.items() if history is not None else ()):
        totals.setdefault(currency, {"available": 0, "pending": 0})["available"] += net
    currencies_seen = sorted(totals) or ["usd"]
    def entries(kind: str) -> list[Body]:
        return [{"amount": totals.get(c, {}).get(kind, 0), "currency": c,
                 "source_types": {"card": totals.get(c, {}).get(kind, 0)}} for c in currencies_seen]
    return {"object": "balance", "available": entries("available"),
            "connect_reserved": [{"amount": 0, "currency": c} for c in currencies_seen], "livemode": False,
            "pending": entries("pending")}


def available_amount(state: StripeState, currency: str) -> int:
    total = sum(txn["net"] for txn in state.balance_transactions.values()
                if txn["currency"] == currency and txn["status"] == "available")
    history = state.history
    if history is None:
        return total
    counted_twice = sum(txn["net"] for txn in state.balance_transactions.values()
                        if txn["currency"] == currency and history.is_virtual(txn["id"])
                        and history.paid_out(txn["id"]) is not None)
    return total - counted_twice + history.virtual_net.get(currency, 0)


def create_payout(state: StripeState, amount: int, currency: str, now: int, *, automatic: bool,
                  description: str | None = None, metadata: dict[str, str] | None = None,
                  grouped: list[Body] | None = None) -> Body:
    if not automatic and amount > available_amount(state, currency):
        raise StripeApiError(400, "You have insufficient funds in your Stripe account for this transfer. Your "
                             "card balance is too low. You can use the /v1/balance endpoint to view your Stripe "
                             "balance (for more details, see stripe.com/docs/api#balance).",
                             code="balance_insufficient", param="amount")
    payout_id = state.ids.new("po_")
    txn = _balance_transaction(state, now, amount=-amount, currency=currency, fee=0, source=payout_id,
                               kind="payout", category="payout", description=description or "STRIPE PAYOUT",
                               available_on=now)
    payout = payment_objects.new_payout(payout_id, now, amount=amount, currency=currency, automatic=automatic,
                                        arrival_date=now + PAYOUT_TRANSIT, balance_transaction=txn["id"],
                                        description=description, metadata=dict(metadata or {}))
    state.payouts[payout_id] = payout
    if automatic:
        for grouped_txn in [*(grouped or []), txn]:
            state.paid_out[grouped_txn["id"]] = payout_id
    state.emit("payout.created", payout, now)
    return payout


def run_automatic_payouts(state: StripeState, now: int) -> None:
    """Once per sandbox day: pay out, per currency, every available transaction not yet paid out."""
    today = now // SECONDS_PER_DAY
    if state.last_payout_day is None:
        state.last_payout_day = today
        return
    if today <= state.last_payout_day:
        return
    state.last_payout_day = today
    by_currency: dict[str, list[Body]] = {}
    for txn in state.balance_transactions.values():
        if txn["status"] == "available" and txn["id"] not in state.paid_out and txn["type"] != "payout":
            by_currency.setdefault(txn["currency"], []).append(txn)
    for currency, txns in sorted(by_currency.items()):
        net = sum(txn["net"] for txn in txns)
        if net > 0:
            create_payout(state, net, currency, now, automatic=True, grouped=txns)


def advance_payouts(state: StripeState, now: int) -> None:
    for payout in state.payouts.values():
        if payout["status"] not in ("pending", "in_transit"):
            continue  # settled: nothing more happens to it (and at scale, copying them all each tick is slow)
        before = copy.deepcopy(payout)
        if payout["status"] == "pending":
            payout["status"] = "in_transit"
        if payout["status"] == "in_transit" and payout["arrival_date"] <= now:
            payout["status"] = "paid"
            payout["trace_id"] = {"status": "supported", "value": f"TRACE{payout['id'][-10:].upper()}"}
            state.emit("payout.paid", payout, now, previous_attributes(before, payout))
        elif payout != before:
            state.emit("payout.updated", payout, now, previous_attributes(before, payout))


def require(store: dict[str, Body], name: str, object_id: str, param: str = "id") -> Body:
    found = store.get(object_id)
    if found is None:
        raise missing(name, object_id, param=param)
    return found
