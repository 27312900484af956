"""The Stripe sandbox's seeded money history (subscriptions, cards, payments with fees, refunds, disputes,
payouts) read through the official SDK, and checked against the shared seed it must not change."""

from __future__ import annotations

import pytest
import stripe

from connectors.stripe import http_client_trusting
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox, currencies

SEED = build_seed(42)


@pytest.fixture(scope="module")
def sandbox(tls):
    server = StripeSandbox(SEED, tls=tls, rate_limit_per_second=None).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(sandbox, tls):
    return stripe.StripeClient(sandbox.api_key, base_addresses={"api": sandbox.base_url}, max_network_retries=0,
                               http_client=http_client_trusting(str(tls.bundle_path)))


def _all(listing):
    return list(listing.auto_paging_iter())


def test_seeded_invoices_keep_their_ids_totals_and_statuses(client):
    """Input: every invoice of build_seed(42); expect each one served with the seeded id, number, status and a
    total equal to the sum of its seeded lines (the money history adds around them, never changes them)."""
    for seeded in SEED.invoices:
        invoice = client.v1.invoices.retrieve(seeded.stripe_id)
        assert (invoice.number, invoice.status, invoice.customer) == (seeded.number, seeded.status, seeded.customer)
        assert invoice.total == seeded.total == sum(line.amount for line in invoice.lines.data)
        assert invoice.amount_paid == (seeded.total if seeded.status == "paid" else 0)


def test_every_customer_has_a_plan_subscription_billing_its_seeded_invoices(client):
    """Input: the seeded customers; expect one active subscription each, on a Starter/Growth/Scale price in
    the customer's currency (monthly and yearly both present), whose latest invoice is the customer's last
    seeded invoice and whose seeded invoices name it as parent; a current period containing the clock."""
    intervals = set()
    for account in SEED.accounts:
        subscriptions = client.v1.subscriptions.list({"customer": account.stripe_customer_id}).data
        assert len(subscriptions) == 1
        subscription = subscriptions[0]
        item = subscription["items"].data[0]
        assert subscription.status == "active" and item.price.currency == account.currency
        assert client.v1.products.retrieve(item.price.product).name in {"Starter", "Growth", "Scale"}
        intervals.add(item.price.recurring.interval)
        seeded = [invoice for invoice in SEED.invoices if invoice.customer == account.stripe_customer_id]
        assert subscription.latest_invoice == seeded[-1].stripe_id
        first = client.v1.invoices.retrieve(seeded[0].stripe_id)
        assert first.parent.subscription_details.subscription == subscription.id
        assert first.billing_reason == "subscription_create"
        assert item.current_period_start < item.current_period_end
    assert intervals == {"month", "year"}


def test_paid_invoices_have_card_payments_with_fees(client):
    """Input: each paid seeded invoice with expand[]=payments; expect a succeeded payment intent whose charge
    carries a balance transaction with the 2.9 % + fixed card fee and net = amount - fee."""
    for seeded in [invoice for invoice in SEED.invoices if invoice.status == "paid"]:
        invoice = client.v1.invoices.retrieve(seeded.stripe_id, {"expand": ["payments"]})
        payment = invoice.payments.data[0]
        assert payment.status == "paid" and payment.amount_paid == seeded.total
        intent = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
        assert intent.status == "succeeded" and intent.amount_received == seeded.total
        charge = client.v1.charges.retrieve(intent.latest_charge)
        assert charge.payment_method_details.card.last4 == "4242" and charge.customer == seeded.customer
        txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
        assert txn.fee == currencies.card_fee(seeded.total, seeded.currency) and txn.net == txn.amount - txn.fee


def test_refunds_and_disputes_are_seeded(client):
    """Input: the seeded refunds and disputes; expect at least one partial and one full refund (charges'
    amount_refunded and refunded agree) and a dispute whose charge is marked disputed, with a dispute fee."""
    refunds = _all(client.v1.refunds.list({"limit": 100}))
    charges = {refund.charge: client.v1.charges.retrieve(refund.charge) for refund in refunds}
    assert any(charges[r.charge].refunded for r in refunds) and any(not charges[r.charge].refunded for r in refunds)
    for refund in refunds:
        assert charges[refund.charge].amount_refunded == refund.amount
    disputes = _all(client.v1.disputes.list({"limit": 100}))
    assert disputes and all(client.v1.charges.retrieve(d.charge).disputed for d in disputes)
    assert disputes[0].balance_transactions[0].fee == currencies.dispute_fee(disputes[0].currency)


def test_payouts_group_every_seeded_transaction_and_leave_no_balance(client):
    """Input: the seeded payouts and /v1/balance; expect every payout's grouped transactions to net to zero
    with it, every non-payout transaction paid out by exactly one payout, and zero available in each currency."""
    payouts = _all(client.v1.payouts.list({"limit": 100}))
    assert len({payout.currency for payout in payouts}) >= 3
    grouped_ids: list[str] = []
    for payout in payouts:
        assert payout.automatic and payout.amount > 0 and payout.status in ("paid", "in_transit")
        grouped = _all(client.v1.balance_transactions.list({"payout": payout.id, "limit": 100}))
        assert sum(txn.net for txn in grouped) == 0
        grouped_ids += [txn.id for txn in grouped if txn.type != "payout"]
    everything = [txn for txn in _all(client.v1.balance_transactions.list({"limit": 100})) if txn.type != "payout"]
    assert sorted(grouped_ids) == sorted(txn.id for txn in everything)
    assert all(entry.amount == 0 for entry in client.v1.balance.retrieve().available)


def test_the_history_is_a_function_of_the_seed():
    """Input: two sandboxes built from build_seed(42) and one from build_seed(7); expect identical charge,
    refund, dispute and payout ids and amounts for seed 42, and different ones for seed 7."""
    def history(seed: int) -> tuple:
        sandbox = StripeSandbox(build_seed(seed), rate_limit_per_second=None)
        sandbox.webhooks.stop()
        state = sandbox.state
        return (sorted((c["id"], c["amount"], c["amount_refunded"]) for c in state.charges.values()),
                sorted(state.disputes), sorted((p["id"], p["amount"]) for p in state.payouts.values()))

    assert history(42) == history(42)
    assert history(42) != history(7)
