"""Stripe sandbox business behaviour through the official SDK: catalog, subscriptions and their
cycles, prorations, card payments and declines, refunds, disputes, payouts, currency rules."""

from __future__ import annotations

import ssl

import httpx
import pytest
import stripe

from connectors.stripe import http_client_trusting
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox

DAY = 86_400


@pytest.fixture(scope="module")
def sandbox(tls):
    server = StripeSandbox(build_seed(42), tls=tls, rate_limit_per_second=None).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def control(sandbox, tls):
    with httpx.Client(base_url=sandbox.base_url, verify=ssl.create_default_context(cafile=str(tls.bundle_path)),
                      headers={"Authorization": f"Bearer {sandbox.api_key}"}) as http:
        yield http


@pytest.fixture(scope="module")
def client(sandbox, tls):
    return stripe.StripeClient(sandbox.api_key, base_addresses={"api": sandbox.base_url}, max_network_retries=0,
                               http_client=http_client_trusting(str(tls.bundle_path)))


@pytest.fixture(autouse=True)
def fresh(control):
    control.post("/_sandbox/reset").raise_for_status()


def advance(control, seconds: int) -> int:
    return control.post("/_sandbox/clock", json={"advance_seconds": seconds}).json()["now"]


def monthly_price(client, amount: int = 2000, currency: str = "usd", name: str = "Pro plan"):
    product = client.v1.products.create({"name": name})
    return client.v1.prices.create({"product": product.id, "currency": currency, "unit_amount": amount,
                                    "recurring": {"interval": "month"}})


def paying_customer(client, card: str = "pm_card_visa"):
    return client.v1.customers.create({"name": "Acme", "payment_method": card,
                                       "invoice_settings": {"default_payment_method": card}})


def test_subscription_create_bills_first_period_and_pays(client):
    """Input: customer with pm_card_visa, a $20/month price, subscription; expect active, a paid first invoice
    (billing_reason subscription_create, parent subscription_details) and items with current periods."""
    price = monthly_price(client)
    customer = paying_customer(client)
    subscription = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    assert subscription.status == "active"
    item = subscription["items"].data[0]
    assert item.price.id == price.id and item.plan.amount == 2000
    assert item.current_period_end - item.current_period_start in range(28 * DAY, 32 * DAY)
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice, {"expand": ["payments"]})
    assert (invoice.status, invoice.total, invoice.amount_paid, invoice.billing_reason) == (
        "paid", 2000, 2000, "subscription_create")
    assert invoice.parent.subscription_details.subscription == subscription.id
    assert invoice.lines.data[0].parent.subscription_item_details.subscription_item == item.id
    payment = invoice.payments.data[0]
    assert payment.status == "paid" and payment.payment.payment_intent.startswith("pi_")


def test_clock_advance_past_period_end_generates_renewal_invoices(client, control):
    """Input: a monthly subscription, then the sandbox clock moved 65 days; expect two more paid invoices with
    billing_reason subscription_cycle and the item's period moved forward."""
    price = monthly_price(client)
    customer = paying_customer(client)
    subscription = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    first_end = subscription["items"].data[0].current_period_end
    advance(control, 65 * DAY)
    invoices = client.v1.invoices.list({"customer": customer.id}).data
    assert [i.billing_reason for i in invoices] == ["subscription_cycle", "subscription_cycle", "subscription_create"]
    assert all(i.status == "paid" and i.total == 2000 for i in invoices)
    assert invoices[1].lines.data[0].period.start == first_end
    renewed = client.v1.subscriptions.retrieve(subscription.id)
    assert renewed["items"].data[0].current_period_start > first_end


def test_mid_cycle_price_change_prorates(client, control):
    """Input: $30/month subscription, half a period later switched to a $60 price (create_prorations); expect a
    credit of about -$15 and a charge of about +$30 as proration invoice items on the next invoice."""
    cheap, dear = monthly_price(client, 3000), monthly_price(client, 6000, name="Max plan")
    customer = paying_customer(client)
    subscription = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": cheap.id}]})
    item = subscription["items"].data[0]
    half = (item.current_period_end - item.current_period_start) // 2
    advance(control, half)
    client.v1.subscriptions.update(subscription.id, {"items": [{"id": item.id, "price": dear.id}]})
    pending = client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data
    assert [item.proration for item in pending] == [True, True]
    advance(control, half + 3600)
    renewal = client.v1.invoices.list({"customer": customer.id, "limit": 1}).data[0]
    amounts = sorted(line.amount for line in renewal.lines.data)
    assert renewal.billing_reason == "subscription_cycle"
    assert amounts[0] in range(-1550, -1450) and amounts[1] in range(2900, 3100) and amounts[2] == 6000
    proration_flags = [line.parent.invoice_item_details.proration for line in renewal.lines.data
                       if line.parent.type == "invoice_item_details"]
    assert proration_flags == [True, True]
    assert renewal.total == sum(amounts)


def test_declined_card_leaves_subscription_incomplete(client):
    """Input: customer with pm_card_chargeDeclined subscribes; expect status incomplete and an open invoice."""
    price = monthly_price(client)
    customer = paying_customer(client, "pm_card_chargeDeclined")
    subscription = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    assert subscription.status == "incomplete"
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert (invoice.status, invoice.attempt_count, invoice.amount_remaining) == ("open", 1, 2000)


def test_payment_intent_succeeds_with_fee_and_declines_with_decline_code(client):
    """Input: PaymentIntents for $100 with pm_card_visa and pm_card_chargeDeclinedInsufficientFunds; expect a
    succeeded charge whose balance transaction has fee 2.9%+30 = 320 and net 9680, and a CardError
    card_declined / insufficient_funds that names the failed charge."""
    intent = client.v1.payment_intents.create({"amount": 10000, "currency": "usd", "payment_method": "pm_card_visa",
                                                "confirm": True})
    assert intent.status == "succeeded" and intent.amount_received == 10000
    charge = client.v1.charges.retrieve(intent.latest_charge, {"expand": ["balance_transaction"]})
    txn = charge.balance_transaction
    assert (txn.amount, txn.fee, txn.net, txn.reporting_category) == (10000, 320, 9680, "charge")
    assert txn.fee_details[0].type == "stripe_fee"
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create({"amount": 10000, "currency": "usd", "confirm": True,
                                          "payment_method": "pm_card_chargeDeclinedInsufficientFunds"})
    error = declined.value
    assert (error.http_status, error.code, error.error.decline_code) == (402, "card_declined", "insufficient_funds")
    failed = client.v1.charges.retrieve(error.error.charge)
    assert (failed.status, failed.failure_code, failed.balance_transaction) == ("failed", "card_declined", None)
    assert error.error.payment_intent.status == "requires_payment_method"


def test_partial_then_full_refunds(client):
    """Input: a $50 charge refunded $20, then $30, then $1 more; expect amount_refunded 2000 then 5000 with
    refunded true, two refunds listed for the charge, and the third refund rejected (charge_already_refunded)."""
    intent = client.v1.payment_intents.create({"amount": 5000, "currency": "usd", "payment_method": "pm_card_visa",
                                                "confirm": True})
    first = client.v1.refunds.create({"payment_intent": intent.id, "amount": 2000})
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (2000, False)
    client.v1.refunds.create({"charge": charge.id})
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    refunds = client.v1.refunds.list({"charge": charge.id}).data
    assert [r.amount for r in refunds] == [3000, 2000] and refunds[1].id == first.id
    txn = client.v1.balance_transactions.retrieve(first.balance_transaction)
    assert (txn.amount, txn.type, txn.reporting_category) == (-2000, "refund", "refund")
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create({"charge": charge.id, "amount": 100})
    assert again.value.code == "charge_already_refunded"


def test_refund_larger_than_remaining_is_rejected(client):
    """Input: a $10 charge and a $11 refund; expect 400 amount_too_large on param amount."""
    intent = client.v1.payment_intents.create({"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa",
                                                "confirm": True})
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create({"charge": intent.latest_charge, "amount": 1100})
    assert (too_much.value.code, too_much.value.param) == ("amount_too_large", "amount")


def test_dispute_from_test_card_and_winning_evidence(client):
    """Input: pm_card_createDispute pays $80; expect a needs_response dispute with a -8000 withdrawal and a 1500
    fee; submitting `winning_evidence` wins it and adds a +8000 dispute_reversal."""
    intent = client.v1.payment_intents.create({"amount": 8000, "currency": "usd", "confirm": True,
                                                "payment_method": "pm_card_createDispute"})
    dispute = client.v1.disputes.list({"charge": intent.latest_charge}).data[0]
    assert (dispute.status, dispute.amount) == ("needs_response", 8000)
    withdrawal = dispute.balance_transactions[0]
    assert (withdrawal.amount, withdrawal.fee, withdrawal.reporting_category) == (-8000, 1500, "dispute")
    assert client.v1.charges.retrieve(intent.latest_charge).disputed is True
    won = client.v1.disputes.update(dispute.id, {"evidence": {"uncategorized_text": "winning_evidence"}})
    assert won.status == "won"
    assert won.balance_transactions[-1].reporting_category == "dispute_reversal"


def test_automatic_payout_groups_available_transactions_with_fees(client, control):
    """Input: two charges ($100, $50) and a $20 refund, then 3 days of sandbox clock; expect one automatic payout
    of the summed net (9680 + 4825 - 2000) whose `payout` filter lists exactly those transactions plus itself."""
    started = control.get("/_sandbox/clock").json()["now"]
    for amount in (10000, 5000):
        client.v1.payment_intents.create({"amount": amount, "currency": "usd", "payment_method": "pm_card_visa",
                                          "confirm": True})
    charge_id = client.v1.charges.list({"limit": 1}).data[0].id
    client.v1.refunds.create({"charge": charge_id, "amount": 2000})
    advance(control, 3 * DAY)
    payouts = client.v1.payouts.list({"created": {"gte": started}}).data  # not the seeded history
    assert len(payouts) == 1 and payouts[0].automatic is True
    payout = payouts[0]
    assert payout.amount == 9680 + 4825 - 2000
    grouped = client.v1.balance_transactions.list({"payout": payout.id, "limit": 100}).data
    assert sorted(t.type for t in grouped) == ["charge", "charge", "payout", "refund"]
    assert sum(t.net for t in grouped) == 0  # the payout empties exactly what it grouped
    assert sum(t.fee for t in grouped) == 320 + 175
    advance(control, 3 * DAY)
    assert client.v1.payouts.retrieve(payout.id).status == "paid"


def test_manual_payout_needs_available_balance(client):
    """Input: a manual payout of $1 with an empty available balance; expect balance_insufficient."""
    with pytest.raises(stripe.InvalidRequestError) as broke:
        client.v1.payouts.create({"amount": 100, "currency": "usd"})
    assert broke.value.code == "balance_insufficient"


def test_zero_and_three_decimal_currencies(client):
    """Input: JPY 5000 intent (zero-decimal: 5000 yen), KWD 1005 (three-decimal, not divisible by 10) and KWD 1000;
    expect JPY fee 2.9% + 30 = 175, KWD 1005 rejected on param amount, KWD 1000 accepted."""
    yen = client.v1.payment_intents.create({"amount": 5000, "currency": "jpy", "payment_method": "pm_card_visa",
                                             "confirm": True})
    txn = client.v1.charges.retrieve(yen.latest_charge, {"expand": ["balance_transaction"]}).balance_transaction
    assert (txn.amount, txn.currency, txn.fee) == (5000, "jpy", 175)
    with pytest.raises(stripe.InvalidRequestError) as odd:
        client.v1.payment_intents.create({"amount": 1005, "currency": "kwd"})
    assert odd.value.param == "amount" and "divisible by 10" in odd.value.user_message
    assert client.v1.payment_intents.create({"amount": 1000, "currency": "kwd"}).amount == 1000


def test_exclusive_tax_rate_on_subscription_invoice(client):
    """Input: 19% exclusive VAT as default_tax_rates on a €100 subscription; expect total 11900, total_taxes 1900."""
    price = monthly_price(client, 10000, "eur")
    rate = client.v1.tax_rates.create({"display_name": "VAT", "percentage": "19", "inclusive": False,
                                       "country": "DE"})
    customer = paying_customer(client)
    subscription = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}],
                                                   "default_tax_rates": [rate.id]})
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert (invoice.subtotal, invoice.total, invoice.total_taxes[0].amount) == (10000, 11900, 1900)
    assert invoice.lines.data[0].taxes[0].tax_rate_details.tax_rate == rate.id


def test_cancel_at_period_end_ends_without_invoice(client, control):
    """Input: subscription updated cancel_at_period_end=true, clock past the period; expect canceled, no renewal."""
    price = monthly_price(client)
    customer = paying_customer(client)
    subscription = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    client.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": True})
    advance(control, 40 * DAY)
    assert client.v1.subscriptions.retrieve(subscription.id).status == "canceled"
    assert len(client.v1.invoices.list({"customer": customer.id}).data) == 1


def test_invoice_pay_with_card_and_out_of_band(client):
    """Input: two $12 drafts; pay one with pm_card_visa, the other paid_out_of_band; then pay the first again;
    expect both paid (one payment intent, one out_of_band payment) and the repeat rejected."""
    customer = client.v1.customers.create({"name": "Payer"})
    invoices = []
    for _ in range(2):
        draft = client.v1.invoices.create({"customer": customer.id, "collection_method": "send_invoice",
                                           "days_until_due": 7, "currency": "usd"})
        client.v1.invoice_items.create({"customer": customer.id, "invoice": draft.id, "amount": 1200})
        invoices.append(draft)
    by_card = client.v1.invoices.pay(invoices[0].id, {"payment_method": "pm_card_visa"})
    by_cheque = client.v1.invoices.pay(invoices[1].id, {"paid_out_of_band": True})
    assert (by_card.status, by_card.amount_paid, by_cheque.status) == ("paid", 1200, "paid")
    kinds = [client.v1.invoices.retrieve(i.id, {"expand": ["payments"]}).payments.data[0].payment.type
             for i in invoices]
    assert kinds == ["payment_intent", "out_of_band_payment"]
    with pytest.raises(stripe.InvalidRequestError, match="already paid"):
        client.v1.invoices.pay(invoices[0].id)
