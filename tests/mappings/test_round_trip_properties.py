"""Property tests: canonical -> vendor -> canonical is the identity, for every entity and currency."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import internal_rows, quickbooks_entities, salesforce_entities
from mappings.canonical import Invoice, InvoiceLine, LineTax
from mappings.model.catalog import Price, PriceTier, Product, Recurring
from mappings.model.deal import Deal
from mappings.model.party import Address, Contact, CustomerAccount, TaxId
from mappings.model.payments import Dispute, Payment, Refund
from mappings.model.payouts import BalanceTransaction, FeeDetail, Payout
from mappings.model.subscription import Subscription, SubscriptionItem
from mappings.model.usage import UsageRecord
from mappings.money import Money
from mappings.stripe_accounts import customer_account_from_stripe, customer_account_to_stripe
from mappings.stripe_balance import (
    balance_transaction_from_stripe,
    balance_transaction_to_stripe,
    payout_from_stripe,
    payout_to_stripe,
)
from mappings.stripe_catalog import price_from_stripe, price_to_stripe, product_from_stripe, product_to_stripe
from mappings.stripe_payments import (
    dispute_from_stripe,
    dispute_to_stripe,
    payment_from_stripe,
    payment_to_stripe,
    refund_from_stripe,
    refund_to_stripe,
)
from mappings.stripe_subscriptions import subscription_from_stripe, subscription_to_stripe
from mappings.stripe_usage import usage_from_meter_event, usage_to_meter_event

CURRENCIES = ["USD", "EUR", "JPY", "KWD", "BHD", "ISK", "HUF", "TWD", "KRW", "GBP"]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids_text = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=4, max_size=14)
words = st.text("abcdefghijklmnopqrstuvwxyz ÄÖüé'&.,-", min_size=1, max_size=30).map(str.strip).filter(bool)
moments = st.integers(1_500_000_000, 2_000_000_000).map(lambda s: datetime.fromtimestamp(s, tz=UTC))
currencies = st.sampled_from(CURRENCIES)


def money(currency, min_value=0, max_value=10**12):
    return st.integers(min_value, max_value).map(lambda n: Money(n, currency))


def vendor_json(body: dict) -> dict:
    """What comes back over the wire: JSON text re-read (Decimals as strings become Decimal via parse_float)."""
    return json.loads(json.dumps(body, default=str), parse_float=Decimal)


@st.composite
def addresses(draw):
    return draw(st.none() | st.builds(Address, line1=words, line2=st.none() | words, city=words,
                                      state=st.none() | words, postal_code=st.none() | ids_text,
                                      country=st.sampled_from(["US", "DE", "JP", "KW"])))


@st.composite
def customer_accounts(draw, with_tax_ids=True):
    ids = {"stripe": "cus_" + draw(ids_text)}
    if draw(st.booleans()):
        ids["salesforce"] = "001" + draw(st.text("ABCDEFGHJK0123456789", min_size=15, max_size=15))
    tax_ids = ()
    if with_tax_ids:
        tax_ids = tuple(draw(st.lists(st.builds(TaxId, type=st.just("eu_vat"), value=ids_text,
                                                country=st.just("DE"), stripe_id=ids_text.map("txi_".__add__)),
                                      max_size=2)))
    return CustomerAccount(
        ids=ids, name=draw(words), email=draw(st.none() | ids_text.map(lambda s: s + "@example.com")),
        phone=draw(st.none() | st.just("+1 555 0100")), currency=draw(st.none() | currencies),
        billing_address=draw(addresses()), tax_ids=tax_ids, tax_exempt=draw(st.sampled_from(["none", "exempt"])),
        metadata=draw(st.dictionaries(st.sampled_from(["tier", "region"]), ids_text, max_size=2)),
    )


@FAST
@given(customer_accounts())
def test_customer_account_round_trips_through_stripe(account):
    """Input: random accounts (address, tax ids, Salesforce id in metadata, any currency)."""
    assert customer_account_from_stripe(vendor_json(customer_account_to_stripe(account))) == account


@FAST
@given(customer_accounts(with_tax_ids=False), ids_text)
def test_customer_account_round_trips_through_quickbooks(account, qb_id):
    """Input: random accounts with a QuickBooks Id; links travel in Notes, address in BillAddr."""
    account = CustomerAccount(**{**account.__dict__, "ids": {**account.ids, "quickbooks": qb_id}, "metadata": {},
                                 "tax_exempt": "none"})
    body = vendor_json(quickbooks_entities.customer_account_to_quickbooks(account))
    body["Id"] = qb_id
    assert quickbooks_entities.customer_account_from_quickbooks(body) == account


@FAST
@given(customer_accounts(with_tax_ids=False), st.text("ABCDEFGH0123456789", min_size=18, max_size=18))
def test_customer_account_round_trips_through_salesforce_and_sql(account, salesforce_id):
    """Input: random accounts as a Salesforce Account (BillingStreet holds two lines) and an internal row."""
    account = CustomerAccount(ids={"salesforce": salesforce_id, "stripe": account.ids["stripe"]},
                              name=account.name, phone=account.phone, currency=account.currency,
                              billing_address=account.billing_address)
    body = vendor_json(salesforce_entities.account_record_to_salesforce(account))
    body["Id"] = salesforce_id
    assert salesforce_entities.account_record_from_salesforce(body) == account
    row_account = CustomerAccount(ids={**account.ids, "internal": "17"}, name=account.name, email=account.email,
                                  currency=account.currency)
    assert internal_rows.customer_from_row(internal_rows.customer_to_row(row_account)) == row_account


@st.composite
def prices(draw):
    currency = draw(currencies)
    tiered = draw(st.booleans())
    recurring = draw(st.none() | st.builds(Recurring, interval=st.sampled_from(["month", "year"]),
                                           interval_count=st.integers(1, 12),
                                           usage_type=st.sampled_from(["licensed", "metered"]),
                                           meter=st.none() | ids_text))
    tiers = ()
    if tiered:
        ups = sorted(draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=3, unique=True)))
        tiers = tuple(PriceTier(up, draw(st.none() | money(currency, 1, 10**6)), draw(st.none() | money(currency)))
                      for up in [*ups, None])
    unit = None if tiered else draw(money(currency, 0, 10**9))
    return Price(
        ids={"stripe": "price_" + draw(ids_text)}, product_stripe_id="prod_" + draw(ids_text), currency=currency,
        active=draw(st.booleans()), billing_scheme="tiered" if tiered else "per_unit", unit_amount=unit,
        unit_amount_decimal=None if unit is not None else draw(st.none() | st.decimals("0.001", "1000", places=3)),
        recurring=recurring, tiers_mode="graduated" if tiered else None, tiers=tiers,
        tax_behavior=draw(st.sampled_from(["unspecified", "exclusive", "inclusive"])),
        nickname=draw(st.none() | words), lookup_key=draw(st.none() | ids_text),
    )


@FAST
@given(prices(), st.builds(Product, ids=ids_text.map(lambda s: {"stripe": "prod_" + s}), name=words,
                           active=st.booleans(), description=st.none() | words, unit_label=st.none() | words,
                           tax_code=st.none() | st.just("txcd_10000000"),
                           default_price_stripe_id=st.none() | ids_text, metadata=st.just({})))
def test_product_and_price_round_trip(price, product):
    """Input: random products and prices (per-unit, tiered, metered, sub-minor decimals) in every currency."""
    assert price_from_stripe(vendor_json(price_to_stripe(price))) == price
    assert product_from_stripe(vendor_json(product_to_stripe(product))) == product
    sf_product = Product(ids=product.ids, name=product.name, active=product.active,
                         description=product.description, unit_label=product.unit_label)
    assert salesforce_entities.product_from_salesforce(
        vendor_json(salesforce_entities.product_to_salesforce(sf_product))) == sf_product
    if price.unit_amount is not None:
        sf_price = Price(ids=price.ids, product_stripe_id=price.product_stripe_id, currency=price.currency,
                         active=price.active, unit_amount=price.unit_amount)
        body = vendor_json(salesforce_entities.price_to_salesforce(sf_price, "01t000000000001", "01s000000000001"))
        assert salesforce_entities.price_from_salesforce(body, price.product_stripe_id) == sf_price


@FAST
@given(st.data())
def test_subscription_round_trip(data):
    """Input: random subscriptions with 1-3 items (metered items without quantity), cancellation dates."""
    currency = data.draw(currencies)
    items = tuple(SubscriptionItem("si_" + data.draw(ids_text), "price_" + data.draw(ids_text),
                                   data.draw(st.none() | st.integers(1, 500)), data.draw(moments), data.draw(moments))
                  for _ in range(data.draw(st.integers(1, 3))))
    sub = Subscription(
        ids={"stripe": "sub_" + data.draw(ids_text)}, customer_stripe_id="cus_" + data.draw(ids_text),
        status=data.draw(st.sampled_from(["active", "trialing", "canceled", "past_due"])), currency=currency,
        items=items, created=data.draw(moments), start_date=data.draw(moments),
        cancel_at=data.draw(st.none() | moments),
        canceled_at=data.draw(st.none() | moments), cancel_at_period_end=data.draw(st.booleans()),
    )
    assert subscription_from_stripe(vendor_json(subscription_to_stripe(sub))) == sub


@FAST
@given(st.data())
def test_money_movement_round_trips(data):
    """Input: random payments, partial refunds, disputes, balance transactions (with fees and Stripe's FX
    rate) and payouts, in every currency including ISK and the three-decimal ones."""
    currency = data.draw(currencies)
    amount = data.draw(money(currency, 1, 10**9))
    refunded = Money(data.draw(st.integers(0, amount.amount_minor)), currency)
    payment = Payment({"stripe": "ch_" + data.draw(ids_text), "stripe_payment_intent": "pi_x"}, amount,
                      data.draw(moments), "succeeded", "cus_1", None, refunded, "txn_1", data.draw(st.none() | words),
                      {})
    assert payment_from_stripe(vendor_json(payment_to_stripe(payment))) == payment
    refund = Refund({"stripe": "re_" + data.draw(ids_text)}, Money(max(1, refunded.amount_minor), currency), "ch_1",
                    data.draw(moments), "succeeded", data.draw(st.none() | st.just("requested_by_customer")),
                    "txn_2", None)
    assert refund_from_stripe(vendor_json(refund_to_stripe(refund))) == refund
    dispute = Dispute({"stripe": "dp_" + data.draw(ids_text)}, amount, "ch_1", data.draw(moments),
                      "needs_response", "fraudulent", ("txn_3",))
    assert dispute_from_stripe(vendor_json(dispute_to_stripe(dispute))) == dispute
    fee = data.draw(money(currency, 0, 10**6))
    txn = BalanceTransaction({"stripe": "txn_" + data.draw(ids_text)}, "charge", "charge", amount, fee, amount - fee,
                             data.draw(moments), data.draw(moments), "available", "ch_1",
                             (FeeDetail(fee, "stripe_fee", "Stripe processing fees"),),
                             data.draw(st.none() | st.decimals("0.0001", "200", places=6)), None)
    assert balance_transaction_from_stripe(vendor_json(balance_transaction_to_stripe(txn))) == txn
    payout = Payout({"stripe": "po_" + data.draw(ids_text)}, amount - fee, data.draw(moments), data.draw(moments),
                    "paid", "ba_1", "txn_9", data.draw(st.booleans()))
    assert payout_from_stripe(vendor_json(payout_to_stripe(payout))) == payout


@FAST
@given(ids_text, st.decimals("0", "1000000", places=3), moments)
def test_usage_round_trips_through_stripe_and_sql(event_id, quantity, moment):
    """Input: random usage events (fractional quantities) as Stripe meter events and internal rows."""
    usage = UsageRecord({"internal": event_id}, "cus_1", "api_request", quantity, moment)
    assert usage_from_meter_event(vendor_json(usage_to_meter_event(usage))) == usage
    assert internal_rows.usage_from_row(internal_rows.usage_to_row(usage)) == usage


@FAST
@given(st.data())
def test_contact_and_deal_round_trip_through_salesforce(data):
    """Input: random Contacts and Opportunities (amount in any currency, won or not)."""
    contact = Contact({"salesforce": "003" + data.draw(st.text("ABC0123456789", min_size=15, max_size=15))},
                      data.draw(st.none() | words), data.draw(words), data.draw(st.none() | st.just("a@b.example")),
                      None, "001000000000001AAA")
    assert salesforce_entities.contact_from_salesforce(
        vendor_json(salesforce_entities.contact_to_salesforce(contact))) == contact
    currency = data.draw(currencies)
    deal = Deal({"salesforce": "006000000000001AAA"}, "001000000000001AAA", data.draw(words), "Closed Won",
                date(2026, 3, 1), data.draw(st.none() | money(currency)), True)
    assert salesforce_entities.deal_from_salesforce(vendor_json(salesforce_entities.deal_to_salesforce(deal))) == deal


@FAST
@given(st.data())
def test_detailed_invoice_round_trips_through_the_store_dict(data):
    """Input: random invoices with discounts and per-line taxes in every currency; as_dict/from_dict is exact."""
    currency = data.draw(currencies)
    lines = tuple(
        InvoiceLine(f"in_1:il_{i}", data.draw(words), data.draw(st.integers(1, 50)), data.draw(money(currency)),
                    data.draw(st.none() | money(currency)),
                    tuple(LineTax(data.draw(money(currency)), data.draw(money(currency)), "txr_1",
                                  data.draw(st.decimals("0", "30", places=3)), data.draw(st.booleans()))
                          for _ in range(data.draw(st.integers(0, 2)))),
                    data.draw(st.none() | ids_text))
        for i in range(data.draw(st.integers(1, 4))))
    invoice = Invoice("in_1", "cus_1", None, "open", data.draw(money(currency)), date(2026, 1, 2), None, lines,
                      data.draw(st.none() | money(currency)), data.draw(st.none() | money(currency)),
                      data.draw(st.none() | money(currency)), data.draw(st.none() | money(currency)))
    assert Invoice.from_dict(json.loads(json.dumps(invoice.as_dict()))) == invoice
