"""Golden tests: Stripe's own example objects (vendor-specs/stripe/fixtures3.json) mapped to canonical records."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mappings.canonical import MappingError
from mappings.model.catalog import Recurring
from mappings.money import Money
from mappings.stripe import invoice_from_stripe
from mappings.stripe_accounts import customer_account_from_stripe, customer_account_to_stripe
from mappings.stripe_balance import balance_transaction_from_stripe, payout_from_stripe
from mappings.stripe_catalog import price_from_stripe, price_to_stripe, product_from_stripe
from mappings.stripe_payments import (
    dispute_from_stripe,
    payment_from_payment_intent,
    payment_from_stripe,
    refund_from_stripe,
)
from mappings.stripe_subscriptions import subscription_from_stripe
from mappings.stripe_usage import usage_from_meter_event

FIXTURES = Path("/work/shared/vendor-specs/stripe/fixtures3.json")
if not FIXTURES.exists():  # the repository may sit next to ../shared
    FIXTURES = Path(__file__).resolve().parents[3] / "shared/vendor-specs/stripe/fixtures3.json"


@pytest.fixture(scope="module")
def stripe_objects() -> dict:
    return json.loads(FIXTURES.read_text())["resources"]


def test_customer_with_expanded_tax_ids(stripe_objects):
    """Input: fixture customer plus metadata.salesforce_account_id, an address and the fixture tax_id expanded."""
    raw = copy.deepcopy(stripe_objects["customer"])
    raw["metadata"] = {"salesforce_account_id": "001AbCdEfGhIjKlMnO", "tier": "gold"}
    raw["address"] = {"line1": "1 Main St", "line2": None, "city": "Berlin", "state": None, "postal_code": "10115",
                      "country": "DE"}
    raw["tax_ids"] = {"object": "list", "data": [stripe_objects["tax_id"]], "has_more": False}
    account = customer_account_from_stripe(raw)
    assert account.ids == {"stripe": "cus_QXg1o8vcGmoR32", "salesforce": "001AbCdEfGhIjKlMnO"}
    assert account.id == "customer:salesforce:001AbCdEfGhIjKlMnO"
    assert account.metadata == {"tier": "gold"}
    assert account.billing_address.city == "Berlin" and account.billing_address.line2 is None
    assert [(t.type, t.value, t.country) for t in account.tax_ids] == [("eu_vat", "DE123456789", "DE")]
    params = customer_account_to_stripe(account, writable_only=True)
    assert params["metadata"] == {"tier": "gold", "salesforce_account_id": "001AbCdEfGhIjKlMnO"}
    assert "id" not in params and "currency" not in params


def test_product_and_recurring_price(stripe_objects):
    """Input: fixture product (T-shirt) and its monthly USD 20.00 price."""
    product = product_from_stripe(stripe_objects["product"])
    assert (product.name, product.default_price_stripe_id) == ("T-shirt", "price_1PgafmB7WZ01zgkW02Hf9z6c")
    price = price_from_stripe(stripe_objects["price"])
    assert price.unit_amount == Money(2000, "USD")
    assert price.recurring == Recurring("month", 1, "licensed", None)
    assert price_to_stripe(price)["unit_amount_decimal"] == "2000"


def test_tiered_usage_price_in_isk(stripe_objects):
    """Input: the fixture price made metered, graduated tiers in ISK (Stripe writes ISK x100), and a
    sub-krona unit_amount_decimal."""
    raw = copy.deepcopy(stripe_objects["price"])
    raw.update(currency="isk", billing_scheme="tiered", tiers_mode="graduated", unit_amount=None,
               unit_amount_decimal="50.5",
               tiers=[{"up_to": 1000, "unit_amount": 500, "flat_amount": None},
                      {"up_to": None, "unit_amount": 300, "flat_amount": 10000}])
    raw["recurring"].update(usage_type="metered", meter="mtr_123")
    price = price_from_stripe(raw)
    assert [(t.up_to, t.unit_amount, t.flat_amount) for t in price.tiers] == [
        (1000, Money(5, "ISK"), None), (None, Money(3, "ISK"), Money(100, "ISK"))]
    assert price.unit_amount_decimal == Decimal("0.505")
    assert price.recurring.meter == "mtr_123"


def test_subscription_items_and_cancellation(stripe_objects):
    """Input: fixture subscription (cancel_at set, cancel_at_period_end true, one item with its period)."""
    sub = subscription_from_stripe(stripe_objects["subscription"])
    assert sub.status == "active" and sub.cancel_at_period_end is True
    assert sub.cancel_at == datetime.fromtimestamp(1234567890, tz=UTC)
    assert [(i.stripe_id, i.price_stripe_id, i.quantity) for i in sub.items] == [
        ("si_QXhVnC2h0Jczwc", "price_1PgafmB7WZ01zgkW6dKueIc5", 1)]
    broken = copy.deepcopy(stripe_objects["subscription"])
    broken["items"]["has_more"] = True
    with pytest.raises(MappingError) as caught:
        subscription_from_stripe(broken)
    assert caught.value.field == "items"


def test_invoice_with_discounts_and_per_line_tax(stripe_objects):
    """Input: the fixture invoice with two lines: 10.00 less 1.00 discount taxed 19 % (1.71), and 5.00
    untaxed; total_taxes 1.71, total 15.71."""
    raw = copy.deepcopy(stripe_objects["invoice"])
    first = raw["lines"]["data"][0]
    first.update(discount_amounts=[{"amount": 100, "discount": "di_1"}], taxes=[{
        "amount": 171, "tax_behavior": "exclusive", "taxable_amount": 900, "type": "tax_rate_details",
        "tax_rate_details": {"tax_rate": "txr_1", "percentage": 19}, "taxability_reason": None}])
    second = copy.deepcopy(first)
    second.update(id="il_2", amount=500, discount_amounts=[], taxes=[])
    raw["lines"]["data"].append(second)
    raw.update(subtotal=1500, total=1571, total_discount_amounts=[{"amount": 100, "discount": "di_1"}],
               total_taxes=[{"amount": 171}], status="open", amount_paid=0)
    invoice = invoice_from_stripe(raw)
    line = invoice.lines[0]
    assert (line.discount, line.taxes[0].amount, line.taxes[0].taxable_amount) == (
        Money(100, "USD"), Money(171, "USD"), Money(900, "USD"))
    assert line.taxes[0].percentage == Decimal("19") and line.taxes[0].rate_id == "txr_1"
    assert (invoice.subtotal, invoice.discount, invoice.tax, invoice.total) == (
        Money(1500, "USD"), Money(100, "USD"), Money(171, "USD"), Money(1571, "USD"))
    assert type(invoice).from_dict(invoice.as_dict()) == invoice
    raw["total_taxes"] = [{"amount": 170}]
    with pytest.raises(MappingError, match="line taxes sum to 171"):
        invoice_from_stripe(raw)


def test_plain_invoice_record_is_unchanged_by_the_new_fields(stripe_objects):
    """Input: the fixture invoice as is; its as_dict has no new keys beyond what Stripe sent (no taxes)."""
    invoice = invoice_from_stripe(stripe_objects["invoice"])
    assert "taxes" not in invoice.as_dict()["lines"][0] and "discount_minor" not in invoice.as_dict()["lines"][0]


def test_charge_payment_intent_refund_dispute(stripe_objects):
    """Input: fixture charge, a succeeded payment intent, a partial refund of the charge, and the dispute."""
    payment = payment_from_stripe(stripe_objects["charge"], invoice_stripe_id="in_1")
    assert (payment.amount, payment.balance_transaction_id, payment.invoice_stripe_id) == (
        Money(100, "USD"), "txn_1PgaxNB7WZ01zgkWEV3TLf40", "in_1")
    intent = dict(stripe_objects["payment_intent"], status="succeeded", amount_received=1099,
                  latest_charge="ch_1")
    assert payment_from_payment_intent(intent).ids == {"stripe": "ch_1",
                                                       "stripe_payment_intent": "pi_1PgafyB7WZ01zgkWSjxsAJo3"}
    with pytest.raises(MappingError, match="not succeeded"):
        payment_from_payment_intent(stripe_objects["payment_intent"])
    refund = refund_from_stripe(dict(stripe_objects["refund"], amount=40))
    assert (refund.id, refund.amount, refund.charge_stripe_id) == (
        "refund:stripe:re_1Pgc72B7WZ01zgkWqPvrRrPE", Money(40, "USD"), "ch_1PgafuB7WZ01zgkWXYmPNZs8")
    dispute = dispute_from_stripe(stripe_objects["dispute"])
    assert (dispute.amount, dispute.reason, dispute.status) == (Money(1000, "USD"), "general",
                                                                "warning_needs_response")


def test_balance_transaction_and_payout_tie_out(stripe_objects):
    """Input: a charge balance transaction of 100.00 with a 3.20 Stripe fee and a payout of its net 96.80;
    then a payout whose amount disagrees with its transactions."""
    txn = dict(stripe_objects["balance_transaction"], amount=10000, fee=320, net=9680,
               fee_details=[{"amount": 320, "currency": "usd", "type": "stripe_fee", "description": "fees",
                             "application": None}])
    mapped = balance_transaction_from_stripe(txn)
    assert (mapped.fee, mapped.net, mapped.fee_details[0].type) == (Money(320, "USD"), Money(9680, "USD"),
                                                                    "stripe_fee")
    payout_txn = dict(stripe_objects["balance_transaction"], id="txn_po", type="payout", reporting_category="payout",
                      amount=-9680, fee=0, net=-9680)
    payout = payout_from_stripe(dict(stripe_objects["payout"], amount=9680), [txn, payout_txn])
    assert [t.ids["stripe"] for t in payout.balance_transactions] == ["txn_1PgaxNB7WZ01zgkWEV3TLf40"]
    with pytest.raises(MappingError) as caught:
        payout_from_stripe(stripe_objects["payout"], [txn])
    assert caught.value.field == "amount"
    with pytest.raises(MappingError, match="!= net 96.81 USD"):
        balance_transaction_from_stripe(dict(txn, net=9681))


def test_meter_event_to_usage_record(stripe_objects):
    """Input: fixture billing.meter_event (value "25" for cus_123)."""
    usage = usage_from_meter_event(stripe_objects["billing.meter_event"])
    assert (usage.ids, usage.quantity, usage.customer_stripe_id) == ({"internal": "1234-1234"}, Decimal(25),
                                                                     "cus_123")
