"""Validation before landing (connectors.stripe_validation) and event routing (connectors.stripe_entities): pure."""

from __future__ import annotations

import pytest

from connectors.stripe_entities import routes
from connectors.stripe_validation import problem

GOOD_INVOICE = {"id": "in_1", "object": "invoice", "currency": "kwd", "created": 1770000000, "total": -150,
                "amount_due": 0, "amount_paid": 0, "amount_remaining": 0, "customer": "cus_1", "metadata": {}}


def test_a_well_formed_record_passes_even_with_a_negative_invoice_total():
    """Input: an invoice in KWD whose total is negative (a credit), which Stripe allows. Expect no problem."""
    assert problem("invoice", GOOD_INVOICE) is None
    assert problem("balance_transaction", {"id": "txn_1", "amount": -500, "fee": 0, "net": -500,
                                           "currency": "usd", "created": 1}) is None


@pytest.mark.parametrize(("record", "field", "words"), [
    ({**GOOD_INVOICE, "id": None}, "id", "missing id"),
    ({key: value for key, value in GOOD_INVOICE.items() if key != "id"}, "id", "missing id"),
    ({**GOOD_INVOICE, "id": 42}, "id", "id is int"),
    ({**GOOD_INVOICE, "currency": "xts"}, "currency", "unknown currency 'xts'"),
    ({**GOOD_INVOICE, "currency": 840}, "currency", "currency is int"),
    ({**GOOD_INVOICE, "amount_due": -1}, "amount_due", "negative amount_due"),
    ({**GOOD_INVOICE, "total": 10.5}, "total", "total is float"),  # money is never a float
    ({**GOOD_INVOICE, "total": True}, "total", "total is bool"),
    ({**GOOD_INVOICE, "created": "2026-01-01"}, "created", "created is str"),
    ({**GOOD_INVOICE, "customer": 7}, "customer", "customer is int"),
    ({**GOOD_INVOICE, "metadata": ["a"]}, "metadata", "metadata is list"),
])
def test_each_kind_of_bad_input_is_named_with_its_field(record, field, words):
    """Input: the good invoice with one defect each (named in the parameters). Expect that field and reason."""
    found = problem("invoice", record)
    assert found is not None and found.field == field and words in found.reason


def test_negative_amounts_are_rejected_only_where_stripe_cannot_make_them():
    """Input: amount -100 on a refund, a charge, a dispute (impossible) and a balance transaction (a refund's)."""
    for entity in ("refund", "charge", "dispute"):
        assert problem(entity, {"id": "x_1", "amount": -100, "currency": "usd"}).field == "amount"
    assert problem("balance_transaction", {"id": "txn_1", "amount": -100, "currency": "usd"}) is None


def _event(event_type: str, obj: dict) -> dict:
    return {"id": "evt_1", "type": event_type, "created": 1, "data": {"object": obj}}


def test_events_route_to_the_objects_they_change():
    """Input: a refund, an invoice item, a canceled subscription, a deleted customer, a coupon event."""
    assert routes(_event("refund.created", {"id": "re_1", "object": "refund", "charge": "ch_1"})) == [
        ("refund", "re_1", False), ("charge", "ch_1", False)]
    assert routes(_event("invoiceitem.created", {"id": "ii_1", "object": "invoiceitem", "invoice": "in_1"})) == [
        ("invoice", "in_1", False)]
    assert routes(_event("invoiceitem.created", {"id": "ii_2", "object": "invoiceitem", "invoice": None})) == []
    # a canceled subscription stays (status canceled): re-read, not a tombstone
    assert routes(_event("customer.subscription.deleted", {"id": "sub_1", "object": "subscription"})) == [
        ("subscription", "sub_1", False)]
    assert routes(_event("customer.deleted", {"id": "cus_1", "object": "customer"})) == [("customer", "cus_1", True)]
    assert routes(_event("invoice.finalized", {"id": "in_1", "object": "invoice", "customer": "cus_1"})) == [
        ("invoice", "in_1", False), ("customer", "cus_1", False)]
    assert routes(_event("coupon.created", {"id": "co_1", "object": "coupon"})) == []
