"""Stripe sandbox snapshot and restore: changes made over HTTP survive a JSON round trip into a fresh sandbox
of the same seed, and ids minted afterwards continue without colliding. Also a construction-time probe."""

from __future__ import annotations

import json
import ssl
import time
from decimal import Decimal

import httpx
import pytest
import stripe

from connectors.stripe import http_client_trusting
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox

SEED = build_seed(42)
DAY = 86_400


def _client(sandbox: StripeSandbox, tls) -> stripe.StripeClient:
    return stripe.StripeClient(sandbox.api_key, base_addresses={"api": sandbox.base_url}, max_network_retries=0,
                               http_client=http_client_trusting(str(tls.bundle_path)))


def _http(sandbox: StripeSandbox, tls) -> httpx.Client:
    return httpx.Client(base_url=sandbox.base_url, verify=ssl.create_default_context(cafile=str(tls.bundle_path)),
                        headers={"Authorization": f"Bearer {sandbox.api_key}"})


def test_snapshot_round_trips_through_json_into_a_fresh_sandbox(tls):
    """Input: over HTTP, a customer (with an idempotency key), a 12.5 % tax rate, a subscription paid by card
    (charge, balance transaction, invoice payment), a partial refund and a clock moved 3 hours; snapshot,
    json.dumps/json.loads, restore into a new sandbox with seed 42. Expect every object back (Decimal intact),
    the idempotent request replayed, the clock no earlier, and a new customer's id unseen before."""
    first = StripeSandbox(SEED, tls=tls, rate_limit_per_second=None).start()
    try:
        client, http = _client(first, tls), _http(first, tls)
        customer = client.v1.customers.create({"name": "Persisted", "payment_method": "pm_card_visa",
                                               "invoice_settings": {"default_payment_method": "pm_card_visa"}},
                                              {"idempotency_key": "persist-1"})
        rate = client.v1.tax_rates.create({"display_name": "VAT", "percentage": "12.5", "inclusive": False})
        product = client.v1.products.create({"name": "Kept plan"})
        price = client.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 3000,
                                         "recurring": {"interval": "month"}})
        subscription = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
        invoice = client.v1.invoices.retrieve(subscription.latest_invoice, {"expand": ["payments"]})
        intent = client.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)
        refund = client.v1.refunds.create({"charge": intent.latest_charge, "amount": 500})
        now = http.post("/_sandbox/clock", json={"advance_seconds": 3 * 3600}).json()["now"]
        saved = json.loads(json.dumps(first.snapshot()))
        # Only what changed is written: the seeded customers are rebuilt from the seed, not stored.
        assert list(saved["stores"]["customers"]["changed"]) == [customer.id]
        http.close()
    finally:
        first.stop()

    second = StripeSandbox(SEED, tls=tls, rate_limit_per_second=None).start()
    try:
        second.restore(saved)
        client, http = _client(second, tls), _http(second, tls)
        assert client.v1.customers.retrieve(customer.id).name == "Persisted"
        assert client.v1.tax_rates.retrieve(rate.id).percentage == 12.5
        assert second.state.tax_rates[rate.id]["percentage"] == Decimal("12.5")
        assert client.v1.subscriptions.retrieve(subscription.id).status == "active"
        assert client.v1.invoices.retrieve(invoice.id).status == "paid"
        charge = client.v1.charges.retrieve(intent.latest_charge)
        assert (charge.amount_refunded, charge.refunds.data[0].id) == (500, refund.id)
        assert client.v1.balance_transactions.retrieve(charge.balance_transaction).fee > 0
        assert http.get("/_sandbox/clock").json()["now"] >= now
        replay = http.post("/v1/customers", data={"name": "Persisted", "payment_method": "pm_card_visa",
                                                  "invoice_settings[default_payment_method]": "pm_card_visa"},
                           headers={"Idempotency-Key": "persist-1"})
        assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json()["id"] == customer.id
        event_ids = {event.id for event in client.v1.events.list({"limit": 100}).auto_paging_iter()}
        fresh_customer = client.v1.customers.create({"name": "After restore"})
        assert fresh_customer.id not in {*saved["stores"]["customers"]["changed"],
                                          *(account.stripe_customer_id for account in SEED.accounts)}
        new_events = client.v1.events.list({"type": "customer.created", "limit": 1}).data
        assert new_events[0].data.object.id == fresh_customer.id and new_events[0].id not in event_ids
        http.close()
    finally:
        second.stop()


def test_restore_rejects_something_that_is_not_a_snapshot(tls):
    """Input: restore({"format": "other"}); expect ValueError and the seeded customers untouched."""
    sandbox = StripeSandbox(SEED, tls=tls, rate_limit_per_second=None)
    try:
        with pytest.raises(ValueError, match="not a Stripe sandbox snapshot"):
            sandbox.restore({"format": "other"})
        assert len(sandbox.state.customers) == len(SEED.accounts)
    finally:
        sandbox.webhooks.stop()


def test_construction_time_is_reported_for_scale_10(capsys):
    """Input: build the sandbox (no server) for build_seed(42, scale=10): 120 customers. A probe, not a timed
    assertion: it prints the seconds taken and checks the customer and invoice counts (the scale 100 and
    1000 figures are in sandboxes/stripe/README.md, measured with the same code)."""
    seed = build_seed(42, scale=10)
    started = time.perf_counter()
    sandbox = StripeSandbox(seed, rate_limit_per_second=None)
    elapsed = time.perf_counter() - started
    sandbox.webhooks.stop()
    print(f"stripe sandbox at scale 10: {elapsed:.3f} s")
    assert len(sandbox.state.customers) == 120 and len(sandbox.state.invoices) == len(seed.invoices)
