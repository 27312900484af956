"""Stripe balance transactions and payouts <-> canonical BalanceTransaction and Payout."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mappings.canonical import MappingError
from mappings.codecs import BOOLEAN, EXPANDABLE_ID, STRIPE_MONEY, TEXT, UNIX_TIME
from mappings.fields import Codec, Context, EntityMapping, Field
from mappings.fx import rate_from_stripe
from mappings.model.payouts import BalanceTransaction, FeeDetail, Payout
from mappings.money import from_stripe_amount, normalize_currency, to_stripe_amount
from mappings.stripe_common import MAPPING_VERSION, currency_of, object_id


def _fee_details_in(value: Any, ctx: Context) -> tuple[FeeDetail, ...]:
    details = []
    for item in value:
        currency = normalize_currency(item.get("currency") or ctx["currency"])
        details.append(FeeDetail(from_stripe_amount(item["amount"], currency), item["type"], item.get("description")))
    return tuple(details)


def _fee_details_out(value: tuple[FeeDetail, ...], _ctx: Context) -> list[dict]:
    return [{"amount": to_stripe_amount(d.amount), "currency": d.amount.currency.lower(), "type": d.type,
             "description": d.description} for d in value]


FEE_DETAILS = Codec("[{amount, currency, type, description}]", _fee_details_in, _fee_details_out)
EXCHANGE_RATE = Codec("Decimal (as Stripe recorded it)", lambda value, _ctx: rate_from_stripe(value),
                      lambda value, _ctx: str(value))

BALANCE_TRANSACTION = EntityMapping("stripe", "balance_transaction", "balance_transaction", MAPPING_VERSION, (
    Field("ids.stripe", "id", TEXT, required=True),
    Field("type", "type", TEXT, required=True),
    Field("reporting_category", "reporting_category", TEXT, required=True),
    Field("amount", "amount", STRIPE_MONEY, required=True),
    Field("fee", "fee", STRIPE_MONEY, required=True),
    Field("net", "net", STRIPE_MONEY, required=True),
    Field("created", "created", UNIX_TIME, required=True),
    Field("available_on", "available_on", UNIX_TIME, required=True),
    Field("status", "status", TEXT, required=True),
    Field("source_stripe_id", "source", EXPANDABLE_ID),
    Field("fee_details", "fee_details", FEE_DETAILS),
    Field("exchange_rate", "exchange_rate", EXCHANGE_RATE),
    Field("description", "description", TEXT),
), notes=("read-only in Stripe: this table is one direction in practice; encode exists for tests and replay",))


def balance_transaction_from_stripe(obj: dict) -> BalanceTransaction:
    txn_id = object_id(obj, "balance_transaction")
    values = BALANCE_TRANSACTION.decode(obj, {"currency": currency_of(obj, txn_id)}, txn_id)
    values["fee_details"] = values["fee_details"] or ()
    if values["amount"] - values["fee"] != values["net"]:
        raise MappingError(f"{txn_id}: amount {values['amount']} - fee {values['fee']} != net {values['net']}",
                           field="net", reason="amount - fee != net")
    detail_sum = sum(d.amount.amount_minor for d in values["fee_details"])
    if values["fee_details"] and detail_sum != values["fee"].amount_minor:
        raise MappingError(f"{txn_id}: fee_details sum to {detail_sum}, fee is {values['fee']}",
                           field="fee_details", reason="fee details do not sum to fee")
    return BalanceTransaction(**values)


def balance_transaction_to_stripe(txn: BalanceTransaction) -> dict:
    body = BALANCE_TRANSACTION.encode(txn, {})
    body["currency"] = txn.amount.currency.lower()
    body.setdefault("fee_details", [])
    body.setdefault("exchange_rate", None)
    return {"object": "balance_transaction", **body}


PAYOUT = EntityMapping("stripe", "payout", "payout", MAPPING_VERSION, (
    Field("ids.stripe", "id", TEXT, required=True, writable=False),
    Field("amount", "amount", STRIPE_MONEY, required=True),
    Field("created", "created", UNIX_TIME, required=True, writable=False),
    Field("arrival_date", "arrival_date", UNIX_TIME, required=True, writable=False),
    Field("status", "status", TEXT, required=True, writable=False),
    Field("destination", "destination", EXPANDABLE_ID),
    Field("balance_transaction_id", "balance_transaction", EXPANDABLE_ID, writable=False),
    Field("automatic", "automatic", BOOLEAN, writable=False),
), notes=("the transactions a payout settles come from GET /v1/balance_transactions?payout=po_...",))


def payout_from_stripe(obj: dict, balance_transactions: Iterable[dict] = ()) -> Payout:
    payout_id = object_id(obj, "payout")
    values = PAYOUT.decode(obj, {"currency": currency_of(obj, payout_id)}, payout_id)
    values["automatic"] = True if values["automatic"] is None else values["automatic"]
    # The payout's own debit (type "payout") is listed with what it settles; it is not part of the batch.
    settled = tuple(balance_transaction_from_stripe(t) for t in balance_transactions if t.get("type") != "payout")
    if settled:
        net = sum(t.net.amount_minor for t in settled)
        if net != values["amount"].amount_minor:
            raise MappingError(f"{payout_id}: balance transactions net {net}, payout is {values['amount']}",
                               field="amount", reason="payout does not equal its transactions")
    values["balance_transactions"] = settled
    return Payout(**values)


def payout_to_stripe(payout: Payout) -> dict:
    return {"object": "payout", "currency": payout.amount.currency.lower(), **PAYOUT.encode(payout, {})}
