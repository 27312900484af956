"""The Stripe sandbox's opt-in year of billing history (`history_months=12`): renewal invoices with their
payments, failures, refunds, disputes and payouts, read through the official SDK over HTTPS."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
import stripe

from connectors.stripe import http_client_trusting
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox, currencies
from sandboxes.stripe.billing import add_interval
from sandboxes.stripe.state import StripeState
from tests.sandboxes.test_stripe_conformance import FIXTURES, ON_REQUEST, SDK_CLASSES, annotated

SEED = build_seed(42, 3)  # 36 customers
YEAR = 365 * 86_400


@pytest.fixture(scope="module")
def sandbox(tls):
    server = StripeSandbox(SEED, tls=tls, rate_limit_per_second=None, history_months=12).start()
    yield server
    server.stop()


def _client(server, tls) -> stripe.StripeClient:
    return stripe.StripeClient(server.api_key, base_addresses={"api": server.base_url}, max_network_retries=0,
                               http_client=http_client_trusting(str(tls.bundle_path)))


@pytest.fixture(scope="module")
def client(sandbox, tls):
    return _client(sandbox, tls)


def _all(listing):
    return list(listing.auto_paging_iter())


def _subscription(client, customer_id: str):
    (subscription,) = client.v1.subscriptions.list({"customer": customer_id}).data
    return subscription, subscription["items"].data[0]


def _renewals(client) -> list:
    return [invoice for invoice in _all(client.v1.invoices.list({"limit": 100}))
            if invoice.id.startswith("in_1Y")]


def test_a_monthly_customer_has_twelve_invoices_in_the_year(client, sandbox):
    """Input: every subscription; expect, for the 12 monthly periods ending with the one that contains the clock
    (anchored on the first seeded invoice's day), exactly one invoice each: the seeded invoice n for period n,
    a renewal created at the period's start otherwise, billed at the plan's price for that period, all naming
    the subscription; a yearly subscription has one invoice in its year."""
    now = sandbox.clock.now()
    monthly = yearly = 0
    for account in SEED.accounts:
        subscription, item = _subscription(client, account.stripe_customer_id)
        invoices = _all(client.v1.invoices.list({"subscription": subscription.id, "limit": 100}))
        seeded = [invoice.stripe_id for invoice in SEED.invoices if invoice.customer == account.stripe_customer_id]
        renewals = sorted((invoice for invoice in invoices if invoice.id.startswith("in_1Y")),
                          key=lambda invoice: invoice.created)
        assert {invoice.id for invoice in invoices} == set(seeded) | {invoice.id for invoice in renewals}
        assert all(invoice.parent.subscription_details.subscription == subscription.id for invoice in invoices)
        start = client.v1.invoices.retrieve(seeded[0]).created
        interval = item.price.recurring.interval
        step = 1 if interval == "month" else 12

        def period(number: int, start: int = start, step: int = step) -> int:
            return add_interval(start, "month", number * step, time.gmtime(start).tm_mday)

        current = max(number for number in range(-30, 30) if period(number) <= now)
        window = range(current - (11 if interval == "month" else 0), current + 1)
        seeded_periods = range(len(seeded)) if interval == "month" else range(1)
        assert [invoice.created for invoice in renewals] == [period(n) for n in window if n not in seeded_periods]
        assert len(renewals) + sum(1 for n in window if n in seeded_periods) == (12 if interval == "month" else 1)
        if interval == "month":
            monthly += 1
            assert item.current_period_start == period(current) <= now < item.current_period_end
        else:
            yearly += 1
        for invoice, number in zip(renewals, [n for n in window if n not in seeded_periods], strict=True):
            (line,) = invoice.lines.data
            assert line.pricing.price_details.price == item.price.id
            assert invoice.total == line.amount == item.price.unit_amount
            assert (line.period.start, line.period.end) == (invoice.created, period(number + 1))
            assert invoice.billing_reason in ("subscription_cycle", "subscription_create")
        reasons = Counter(invoice.billing_reason for invoice in invoices)
        assert reasons["subscription_create"] == 1
        assert subscription.start_date == min(invoice.created for invoice in invoices)
        assert subscription.latest_invoice == max(invoices, key=lambda invoice: invoice.created).id
    assert monthly and yearly


def test_invoices_filter_by_subscription_and_created_and_page_without_gaps(client, sandbox):
    """Input: all invoices paged 7 at a time, and created[gte/lt] windows; expect newest-first order without
    duplicates, every seeded and renewal invoice once, and each window exactly the invoices created in it."""
    everything = _all(client.v1.invoices.list({"limit": 7}))
    ids = [invoice.id for invoice in everything]
    assert len(ids) == len(set(ids))
    assert {seeded.stripe_id for seeded in SEED.invoices} <= set(ids)
    assert sum(1 for invoice_id in ids if invoice_id.startswith("in_1Y")) == len(sandbox.state.history.row_customer)
    keys = [(invoice.created, invoice.id) for invoice in everything]
    assert keys == sorted(keys, reverse=True)
    now = sandbox.clock.now()
    for start in (now - YEAR, now - YEAR // 2, now - 40 * 86_400):
        end = start + 61 * 86_400
        window = _all(client.v1.invoices.list({"created": {"gte": start, "lt": end}, "limit": 100}))
        assert [invoice.id for invoice in window] == [invoice.id for invoice in everything
                                                       if start <= invoice.created < end]
    backwards = client.v1.invoices.list({"ending_before": ids[20], "limit": 5}).data
    assert [invoice.id for invoice in backwards] == ids[15:20]
    paid = _all(client.v1.invoices.list({"status": "paid", "limit": 100}))
    assert [invoice.id for invoice in paid] == [invoice.id for invoice in everything if invoice.status == "paid"]


def test_every_paid_renewal_has_a_charge_whose_transaction_nets_amount_minus_fee(client):
    """Input: each paid renewal with expand[]=payments; expect a succeeded intent and charge for the total and
    a balance transaction with the card fee, net = amount - fee, all integers in minor units."""
    paid = [invoice for invoice in _renewals(client) if invoice.status == "paid"]
    assert len(paid) > 100
    for invoice in paid[::5]:
        invoice = client.v1.invoices.retrieve(invoice.id, {"expand": ["payments"]})
        (payment,) = invoice.payments.data
        assert payment.status == "paid" and payment.amount_paid == invoice.total == invoice.amount_paid
        intent = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
        assert intent.status == "succeeded" and intent.amount_received == invoice.total
        charge = client.v1.charges.retrieve(intent.latest_charge, {"expand": ["balance_transaction"]})
        txn = charge.balance_transaction
        assert charge.paid and charge.amount == invoice.total and charge.customer == invoice.customer
        assert isinstance(txn.amount, int) and isinstance(txn.fee, int)
        assert txn.fee == currencies.card_fee(charge.amount, charge.currency) == sum(d.amount for d in txn.fee_details)
        assert txn.net == txn.amount - txn.fee and txn.amount == charge.amount and txn.source == charge.id


def test_some_renewals_failed_or_are_open(client):
    """Input: the renewals that are not paid; expect both kinds: open and never attempted, and open after a
    declined card (failed charge with a decline code, the intent back to requires_payment_method)."""
    unpaid = [invoice for invoice in _renewals(client) if invoice.status != "paid"]
    assert {invoice.status for invoice in unpaid} == {"open"}
    failed = [invoice for invoice in unpaid if invoice.attempted]
    assert failed and len(failed) < len(unpaid)
    charge = client.v1.charges.retrieve("ch_" + failed[0].id[3:])
    assert charge.status == "failed" and charge.outcome.reason == "insufficient_funds"
    assert charge.balance_transaction is None and charge.amount == failed[0].amount_due
    intent = client.v1.payment_intents.retrieve(charge.payment_intent)
    assert intent.status == "requires_payment_method" and intent.last_payment_error.decline_code == "insufficient_funds"
    assert client.v1.invoice_payments.list({"invoice": failed[0].id}).data == []


def test_renewal_refunds_and_disputes_follow_the_seeded_rules(client, sandbox):
    """Input: refunds and disputes listed; expect renewal charges among them (full and partial refunds, lost and
    open disputes), each charge showing what happened to it and each with its negative balance transaction."""
    refunds = [refund for refund in _all(client.v1.refunds.list({"limit": 100})) if refund.id.startswith("re_1Y")]
    disputes = [d for d in _all(client.v1.disputes.list({"limit": 100})) if d.id.startswith("dp_1Y")]
    assert refunds and disputes
    kinds = set()
    for refund in refunds:
        charge = client.v1.charges.retrieve(refund.charge)
        kinds.add("full" if charge.refunded else "partial")
        assert charge.amount_refunded == refund.amount and [r.id for r in charge.refunds.data] == [refund.id]
        assert client.v1.refunds.list({"charge": charge.id}).data[0].id == refund.id
        txn = client.v1.balance_transactions.retrieve(refund.balance_transaction)
        assert txn.amount == -refund.amount and txn.type == "refund"
        assert refund.created <= sandbox.clock.now()
    assert kinds == {"full", "partial"}
    assert {dispute.status for dispute in disputes} == {"lost", "needs_response"}
    for dispute in disputes:
        charge = client.v1.charges.retrieve(dispute.charge)
        (txn,) = dispute.balance_transactions
        assert charge.disputed and txn.amount == -dispute.amount
        assert txn.fee == currencies.dispute_fee(dispute.currency) and txn.net == txn.amount - txn.fee


def test_payouts_add_up_to_their_balance_transactions(client):
    """Input: every payout and its balance transactions (?payout=); expect the settled transactions' nets to add
    up to the payout amount, renewal transactions among them, each transaction in one payout only."""
    payouts = _all(client.v1.payouts.list({"limit": 100}))
    assert len(payouts) > 30
    seen: set[str] = set()
    renewal_txns = 0
    for payout in payouts:
        txns = _all(client.v1.balance_transactions.list({"payout": payout.id, "limit": 100}))
        settled = [txn for txn in txns if txn.type != "payout"]
        (own,) = [txn for txn in txns if txn.type == "payout"]
        assert own.amount == -payout.amount and own.id == payout.balance_transaction
        assert sum(txn.net for txn in settled) == payout.amount > 0
        assert not seen & {txn.id for txn in txns}
        seen |= {txn.id for txn in txns}
        renewal_txns += sum(1 for txn in settled if txn.id.startswith("txn_1Y"))
    assert renewal_txns > 100


def test_balance_adds_up_every_transaction(client):
    """Input: /v1/balance and every balance transaction listed; expect available and pending per currency to be
    the sums of the transactions' nets by status."""
    sums: Counter = Counter()
    for txn in _all(client.v1.balance_transactions.list({"limit": 100})):
        sums[(txn.currency, txn.status)] += txn.net
    balance = client.v1.balance.retrieve()
    for entry in balance.available:
        assert entry.amount == sums[(entry.currency, "available")]
    for entry in balance.pending:
        assert entry.amount == sums[(entry.currency, "pending")]


def test_history_objects_are_shaped_like_stripe(client):
    """Input: one renewal invoice, line, payment intent, charge, balance transaction, invoice payment, refund and
    dispute; expect keys ⊇ fixture ∩ SDK annotations and ⊆ SDK annotations (as the conformance test checks)."""
    invoice = next(invoice for invoice in _renewals(client) if invoice.status == "paid")
    refund = next(r for r in _all(client.v1.refunds.list({"limit": 100})) if r.id.startswith("re_1Y"))
    dispute = next(d for d in _all(client.v1.disputes.list({"limit": 100})) if d.id.startswith("dp_1Y"))
    suffix = invoice.id[3:]
    samples = {
        "invoice": client.v1.invoices.retrieve(invoice.id), "line_item": invoice.lines.data[0],
        "payment_intent": client.v1.payment_intents.retrieve("pi_" + suffix),
        "charge": client.v1.charges.retrieve("ch_" + suffix),
        "balance_transaction": client.v1.balance_transactions.retrieve("txn_" + suffix),
        "invoice_payment": client.v1.invoice_payments.retrieve("inpay_" + suffix), "refund": refund,
        "dispute": dispute,
    }
    for object_type, sample in samples.items():
        emitted = set(json.loads(str(sample)))
        sdk = annotated(SDK_CLASSES[object_type])
        assert (set(FIXTURES[object_type]) & sdk) - ON_REQUEST.get(object_type, set()) - emitted == set(), object_type
        assert emitted - sdk == set(), object_type


def test_paying_a_renewal_and_advancing_the_clock(client, sandbox):
    """Input: pay an open renewal by card, refund part of a paid renewal's charge in the same currency, then move
    the clock 3 days; expect the invoice paid with a new charge, the refund on the charge, and a new automatic
    payout of exactly the two (charge net minus refund), their transactions listed under it."""
    open_invoice = next(invoice for invoice in _renewals(client) if invoice.status == "open")
    paid = client.v1.invoices.pay(open_invoice.id)
    assert paid.status == "paid" and paid.amount_paid == open_invoice.amount_due
    paid_renewal = next(invoice for invoice in _renewals(client) if invoice.status == "paid"
                        and invoice.currency == open_invoice.currency
                        and not client.v1.charges.retrieve("ch_" + invoice.id[3:]).refunded
                        and not client.v1.charges.retrieve("ch_" + invoice.id[3:]).disputed
                        and client.v1.charges.retrieve("ch_" + invoice.id[3:]).amount_refunded == 0)
    charge_id = "ch_" + paid_renewal.id[3:]
    refund = client.v1.refunds.create({"charge": charge_id, "amount": 100 if paid_renewal.currency != "kwd" else 1000})
    charge = client.v1.charges.retrieve(charge_id)
    assert charge.amount_refunded == refund.amount and refund.id in [r.id for r in charge.refunds.data]
    sandbox.advance_clock(3 * 86_400)
    newest = client.v1.payouts.list({"currency": paid_renewal.currency, "limit": 1}).data[0]
    settled = {txn.id for txn in _all(client.v1.balance_transactions.list({"payout": newest.id, "limit": 100}))}
    new_charge = client.v1.charges.retrieve(client.v1.payment_intents.retrieve(
        client.v1.invoices.retrieve(open_invoice.id, {"expand": ["payments"]}).payments.data[0].payment.payment_intent
    ).latest_charge)
    assert {refund.balance_transaction, new_charge.balance_transaction} <= settled
    fee = currencies.card_fee(new_charge.amount, new_charge.currency)
    assert newest.amount == new_charge.amount - fee - refund.amount


def test_a_yearly_subscription_renews_once_a_year():
    """Input: the seeded account as it is 400 days after the seed's epoch; expect each yearly subscription to
    have one renewal in the year (a year after its first invoice, at the yearly price, paid or open) and each
    monthly one 12 invoices in that year."""
    now = 1_767_225_600 + 400 * 86_400
    state = StripeState(SEED, now=now, history_months=12)
    history = state.history
    for account in SEED.accounts:
        item = state.subscription_items["si_" + account.stripe_customer_id[4:]]
        price = state.prices[item["price"]]
        rows = history.customer_rows(account.stripe_customer_id)
        invoices = [state.invoices["in_" + history.suffix(row)] for row in rows]
        seeded = [state.invoices[i.stripe_id] for i in SEED.invoices if i.customer == account.stripe_customer_id]
        if price["recurring"]["interval"] == "year":
            (renewal,) = invoices
            assert renewal["created"] == item["current_period_start"] and renewal["total"] == price["unit_amount"]
            assert renewal["period_end"] == item["current_period_end"]
            assert renewal["billing_reason"] == "subscription_cycle" and renewal["status"] in ("paid", "open")
        else:
            in_year = [i for i in invoices + seeded if now - YEAR < i["created"] <= now]
            assert len(in_year) == 12
            assert max(i["created"] for i in invoices) == item["current_period_start"]


def test_same_seed_same_history_and_default_unchanged(sandbox):
    """Input: two states of the same seed and clock with history, and one without; expect identical history
    (ids, statuses, amounts, payouts), and without history exactly the seeded invoices, as before."""
    now = sandbox.state.seeded_at
    first, second = StripeState(SEED, now=now, history_months=12), StripeState(SEED, now=now, history_months=12)
    rows = range(len(first.history.row_customer))
    for row in rows:
        invoice_id = "in_" + first.history.suffix(row)
        assert first.invoices[invoice_id] == second.invoices[invoice_id]
        assert first.lines[invoice_id] == second.lines[invoice_id]
        charge_id = "ch_" + invoice_id[3:]
        assert first.charges.get(charge_id) == second.charges.get(charge_id)
    assert first.payouts == second.payouts
    assert len(rows) > 200  # 27 monthly subscriptions x (12 months - the seeded invoices in the window)
    plain = StripeState(SEED, now=now)
    assert plain.history is None and isinstance(plain.invoices, dict)
    assert set(plain.invoices) == {seeded.stripe_id for seeded in SEED.invoices}
    for seeded in SEED.invoices:
        with_history = first.invoices[seeded.stripe_id]
        assert (with_history["total"], with_history["status"], with_history["number"]) == \
            (seeded.total, seeded.status, seeded.number)
        assert plain.invoices[seeded.stripe_id]["total"] == seeded.total
    assert build_seed(42, 3) == SEED  # the shared seed is untouched


def test_snapshot_and_restore_keep_changes_to_history(sandbox, tls):
    """Input: a snapshot after the changes above (a renewal paid, a renewal charge refunded) restored into a new
    sandbox with history; expect the same invoices, charges, refunds and payouts, and a small snapshot."""
    data = json.loads(json.dumps(sandbox.snapshot()))
    restored = StripeSandbox(SEED, tls=tls, rate_limit_per_second=None, history_months=12)
    restored.restore(data)
    state, original = restored.state, sandbox.state
    for name in ("invoices", "charges", "refunds", "payouts", "balance_transactions"):
        for object_id, value in dict.items(getattr(original, name)):
            assert getattr(state, name)[object_id] == value, (name, object_id)
    assert len(json.dumps(data)) < 2_000_000
    assert restored.clock.now() >= sandbox.clock.now() - 1


def test_a_snapshot_brings_its_history_into_a_sandbox_started_without(sandbox, tls):
    """Input: the history sandbox's snapshot restored into a sandbox started with history_months=0; expect the
    renewals (and the changes made to them) back, since the snapshot names the history it was taken with."""
    plain = StripeSandbox(SEED, tls=tls, rate_limit_per_second=None)
    assert plain.state.history is None
    plain.restore(json.loads(json.dumps(sandbox.snapshot())))
    assert plain.state.history_months == 12
    for object_id, value in dict.items(sandbox.state.invoices):
        assert plain.state.invoices[object_id] == value


def test_runner_and_cli_pass_the_flag(tmp_path):
    """Input: start_sandboxes with and without history_months, and `concord sandbox up` parsed; expect renewals
    only when asked for, and the command defaulting to 12 months (0 switches them off)."""
    from concord.cli import build_parser
    from sandboxes.runner import start_sandboxes

    with start_sandboxes(["stripe"], state_dir=tmp_path / "a", vendor_limits=False, history_months=12) as running:
        client = stripe.StripeClient(running.servers["stripe"].api_key,
                                     base_addresses={"api": running.base_url("stripe")}, max_network_retries=0,
                                     http_client=http_client_trusting(running.environment()["CONCORD_CA_BUNDLE"]))
        assert any(invoice.id.startswith("in_1Y") for invoice in client.v1.invoices.list({"limit": 100}).data)
    with start_sandboxes(["stripe"], state_dir=tmp_path / "b", vendor_limits=False) as running:
        assert running.servers["stripe"].state.history is None
    parser = build_parser()
    assert parser.parse_args(["sandbox", "up"]).history_months == 12
    assert parser.parse_args(["sandbox", "up", "--history-months", "0"]).history_months == 0
