"""Stripe charges / payment intents, refunds and disputes <-> canonical Payment, Refund, Dispute."""

from __future__ import annotations

from typing import Any

from mappings.canonical import MappingError
from mappings.codecs import EXPANDABLE_ID, METADATA, STRIPE_MONEY, TEXT, UNIX_TIME
from mappings.fields import Codec, Context, EntityMapping, Field
from mappings.model.payments import Dispute, Payment, Refund
from mappings.money import Money
from mappings.stripe_common import MAPPING_VERSION, currency_of, object_id

CHARGE = EntityMapping("stripe", "payment", "charge", MAPPING_VERSION, (
    Field("ids.stripe", "id", TEXT, required=True, writable=False),
    Field("amount", "amount", STRIPE_MONEY, required=True),
    Field("created", "created", UNIX_TIME, required=True, writable=False),
    Field("status", "status", TEXT, required=True, writable=False),
    Field("customer_stripe_id", "customer", EXPANDABLE_ID),
    Field("ids.stripe_payment_intent", "payment_intent", EXPANDABLE_ID, writable=False),
    Field("invoice_stripe_id", "metadata.invoice", TEXT, direction="in"),
    Field("amount_refunded", "amount_refunded", STRIPE_MONEY, writable=False),
    Field("balance_transaction_id", "balance_transaction", EXPANDABLE_ID, writable=False),
    Field("description", "description", TEXT),
    Field("metadata", "metadata", METADATA),
), notes=("the invoice a charge pays comes from the invoice's payments (invoice_payment), not the charge",))


def payment_from_stripe(obj: dict, invoice_stripe_id: str | None = None) -> Payment:
    charge_id = object_id(obj, "charge")
    currency = currency_of(obj, charge_id)
    values = CHARGE.decode(obj, {"currency": currency}, charge_id)
    values["metadata"] = values["metadata"] or {}
    values["invoice_stripe_id"] = invoice_stripe_id or values["invoice_stripe_id"]
    refunded = values["amount_refunded"]
    if refunded is not None and refunded.amount_minor > values["amount"].amount_minor:
        raise MappingError(f"{charge_id}: amount_refunded {refunded} exceeds amount {values['amount']}",
                           field="amount_refunded", reason="refund exceeds charge")
    return Payment(**values)


def payment_to_stripe(payment: Payment) -> dict:
    body = CHARGE.encode(payment, {})
    body["currency"] = payment.amount.currency.lower()
    return {"object": "charge", **body}


PAYMENT_INTENT = EntityMapping("stripe", "payment", "payment_intent", MAPPING_VERSION, (
    Field("ids.stripe_payment_intent", "id", TEXT, required=True, writable=False),
    Field("ids.stripe", "latest_charge", EXPANDABLE_ID, writable=False),
    Field("amount", "amount_received", STRIPE_MONEY, required=True, writable=False),
    Field("created", "created", UNIX_TIME, required=True, writable=False),
    Field("status", "status", TEXT, required=True, writable=False),
    Field("customer_stripe_id", "customer", EXPANDABLE_ID),
    Field("description", "description", TEXT),
    Field("metadata", "metadata", METADATA),
), notes=("a payment intent counts as a payment only once it has succeeded (its latest_charge is the key)",))


def payment_from_payment_intent(obj: dict) -> Payment:
    intent_id = object_id(obj, "payment_intent")
    if obj.get("status") != "succeeded":
        raise MappingError(f"{intent_id}: payment intent is {obj.get('status')!r}, not succeeded",
                           field="status", reason="not succeeded")
    currency = currency_of(obj, intent_id)
    values = PAYMENT_INTENT.decode(obj, {"currency": currency}, intent_id)
    values["metadata"] = values["metadata"] or {}
    if not values["ids"].get("stripe"):
        raise MappingError(f"{intent_id}: succeeded without a latest_charge", field="latest_charge",
                           reason="missing")
    return Payment(**values)


REFUND = EntityMapping("stripe", "refund", "refund", MAPPING_VERSION, (
    Field("ids.stripe", "id", TEXT, required=True, writable=False),
    Field("amount", "amount", STRIPE_MONEY, required=True),
    Field("charge_stripe_id", "charge", EXPANDABLE_ID, required=True),
    Field("created", "created", UNIX_TIME, required=True, writable=False),
    Field("status", "status", TEXT, required=True, writable=False),
    Field("reason", "reason", TEXT),
    Field("balance_transaction_id", "balance_transaction", EXPANDABLE_ID, writable=False),
    Field("payment_intent_stripe_id", "payment_intent", EXPANDABLE_ID),
))


def refund_from_stripe(obj: dict) -> Refund:
    refund_id = object_id(obj, "refund")
    if not refund_id.startswith(("re_", "pyr_")):
        # The key of a refund is its own id; a charge id here means a caller mixed them up.
        raise MappingError(f"{refund_id}: a refund id starts with re_ (or pyr_)", field="id", reason="not a refund id")
    values = REFUND.decode(obj, {"currency": currency_of(obj, refund_id)}, refund_id)
    if values["amount"].amount_minor <= 0:
        raise MappingError(f"{refund_id}: refund amount must be positive", field="amount", reason="not positive")
    return Refund(**values)


def refund_to_stripe(refund: Refund) -> dict:
    return {"object": "refund", "currency": refund.amount.currency.lower(), **REFUND.encode(refund, {})}


def _balance_ids_in(value: Any, _ctx: Context) -> tuple[str, ...]:
    return tuple(item["id"] if isinstance(item, dict) else str(item) for item in value)


BALANCE_IDS = Codec("[balance_transaction] -> ids", _balance_ids_in, lambda value, _ctx: list(value))

DISPUTE = EntityMapping("stripe", "dispute", "dispute", MAPPING_VERSION, (
    Field("ids.stripe", "id", TEXT, required=True, writable=False),
    Field("amount", "amount", STRIPE_MONEY, required=True, writable=False),
    Field("charge_stripe_id", "charge", EXPANDABLE_ID, required=True, writable=False),
    Field("created", "created", UNIX_TIME, required=True, writable=False),
    Field("status", "status", TEXT, required=True, writable=False),
    Field("reason", "reason", TEXT, required=True, writable=False),
    Field("balance_transaction_ids", "balance_transactions", BALANCE_IDS, writable=False),
), notes=("the dispute's debit and its fee are balance transactions (reporting_category dispute)",))


def dispute_from_stripe(obj: dict) -> Dispute:
    dispute_id = object_id(obj, "dispute")
    values = DISPUTE.decode(obj, {"currency": currency_of(obj, dispute_id)}, dispute_id)
    values["balance_transaction_ids"] = values["balance_transaction_ids"] or ()
    return Dispute(**values)


def dispute_to_stripe(dispute: Dispute) -> dict:
    return {"object": "dispute", "currency": dispute.amount.currency.lower(), **DISPUTE.encode(dispute, {})}


def refundable(payment: Payment) -> Money:
    """What is left to refund on a payment (partial refunds add up, never past the amount)."""
    refunded = payment.amount_refunded or Money.zero(payment.amount.currency)
    return payment.amount - refunded
