"""Stripe sandbox events, signed webhooks, search, list filters, rate limits and idempotency-key pruning,
driven through the official SDK (and httpx for raw bodies)."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import stripe

from connectors.stripe import http_client_trusting
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox

SEED = build_seed(42)


@pytest.fixture(scope="module")
def sandbox(tls):
    server = StripeSandbox(SEED, tls=tls, rate_limit_per_second=None, webhook_retry_delays=(0.05, 0.05)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(sandbox, tls):
    with httpx.Client(base_url=sandbox.base_url, verify=ssl.create_default_context(cafile=str(tls.bundle_path)),
                      headers={"Authorization": f"Bearer {sandbox.api_key}"}) as client:
        yield client


@pytest.fixture(scope="module")
def client(sandbox, tls):
    return stripe.StripeClient(sandbox.api_key, base_addresses={"api": sandbox.base_url}, max_network_retries=0,
                               http_client=http_client_trusting(str(tls.bundle_path)))


@pytest.fixture(autouse=True)
def fresh(http):
    http.post("/_sandbox/reset").raise_for_status()
    http.post("/_sandbox/rate_limit", json={"per_second": None})


class Receiver:
    """A local webhook endpoint that answers the first `failures` deliveries with 500."""

    def __init__(self, failures: int = 0) -> None:
        self.bodies: list[tuple[bytes, str]] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append((body, self.headers["Stripe-Signature"]))
                status = 500 if receiver.failures > 0 else 200
                receiver.failures -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_events_for_mutations_with_previous_attributes(client):
    """Input: create a customer, then update its name and one metadata key; expect customer.created and
    customer.updated events whose previous_attributes hold exactly the old name and old metadata value."""
    customer = client.v1.customers.create({"name": "Old Name", "metadata": {"tier": "gold", "keep": "x"}})
    client.v1.customers.update(customer.id, {"name": "New Name", "metadata": {"tier": "silver"}})
    updated = client.v1.events.list({"type": "customer.updated"}).data[0]
    assert updated.data.object.name == "New Name"
    assert updated.data.previous_attributes.to_dict() == {"name": "Old Name", "metadata": {"tier": "gold"}}
    created = client.v1.events.list({"type": "customer.created", "limit": 1}).data[0]
    assert created.data.object.id == customer.id and created.request.id.startswith("req_")


def test_event_type_wildcard_and_types_filter(client):
    """Input: a draft invoice with an item, finalized; expect `invoice.*` to give invoice.finalized and
    invoice.created (newest first) and types[] to combine invoice.created with invoiceitem.created."""
    customer = client.v1.customers.create({"name": "Events Ltd"})
    draft = client.v1.invoices.create({"customer": customer.id, "collection_method": "send_invoice",
                                       "days_until_due": 30, "currency": "usd"})
    client.v1.invoice_items.create({"customer": customer.id, "invoice": draft.id, "amount": 500})
    client.v1.invoices.finalize_invoice(draft.id)
    wildcard = [event.type for event in client.v1.events.list({"type": "invoice.*"}).data]
    assert wildcard == ["invoice.finalized", "invoice.created"]
    both = {event.type for event in client.v1.events.list({"types": ["invoice.created", "invoiceitem.created"]})}
    assert both == {"invoice.created", "invoiceitem.created"}


def test_events_older_than_30_days_are_gone(client, http):
    """Input: a customer created, then the sandbox clock moved 31 days; expect its event no longer listed."""
    client.v1.customers.create({"name": "Ancient"})
    assert client.v1.events.list({"type": "customer.created"}).data
    http.post("/_sandbox/clock", json={"advance_seconds": 31 * 86_400})
    assert client.v1.events.list({"type": "customer.created"}).data == []


def test_webhook_delivered_signed_and_retried(client, sandbox):
    """Input: an endpoint for customer.* whose receiver fails the first delivery with 500; create a customer;
    expect two deliveries of the same event, each verifying with stripe.Webhook.construct_event."""
    receiver = Receiver(failures=1)
    try:
        endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.*"]})
        customer = client.v1.customers.create({"name": "Hooked"})
        client.v1.products.create({"name": "not subscribed"})
        assert sandbox.webhooks.wait_idle(5)
        assert len(receiver.bodies) == 2
        events = [stripe.Webhook.construct_event(body, signature, endpoint.secret)
                  for body, signature in receiver.bodies]
        assert {event.type for event in events} == {"customer.created"}
        assert events[0].id == events[1].id and events[0].data.object.id == customer.id
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(receiver.bodies[0][0], receiver.bodies[0][1], "whsec_wrong")
        statuses = [a["status"] for a in sandbox.webhooks.attempts]
        assert statuses == [500, 200]
    finally:
        receiver.close()


def test_customer_and_invoice_search_with_next_page(client):
    """Input: search customers by email and metadata (AND), then invoices status:'paid' with limit 2; expect the
    seeded match and pages linked by next_page that together hold every paid invoice once."""
    account = SEED.accounts[0]
    found = client.v1.customers.search({"query": f"email:'{account.email}' AND "
                                                 f"metadata['salesforce_account_id']:'{account.salesforce_id}'"})
    assert [c.id for c in found.data] == [account.stripe_customer_id]
    seen, page = [], None
    while True:
        params = {"query": "status:'paid'", "limit": 2, **({"page": page} if page else {})}
        result = client.v1.invoices.search(params)
        seen += [invoice.id for invoice in result.data]
        if not result.has_more:
            break
        page = result.next_page
    paid = [i for i in SEED.invoices if i.status == "paid"]
    assert sorted(seen) == sorted(i.stripe_id for i in paid) and len(seen) == len(set(seen))


def test_search_rejects_unknown_fields(client):
    """Input: customers search on `colour:'red'`; expect 400 naming the unsupported field."""
    with pytest.raises(stripe.InvalidRequestError, match="unsupported search field"):
        client.v1.customers.search({"query": "colour:'red'"})


def test_list_created_bounds_and_cursors(client):
    """Input: three products; list with created[gte] of the first and limit 2, then starting_after; expect newest
    first across two pages."""
    made = [client.v1.products.create({"name": f"P{n}"}) for n in range(3)]
    first = client.v1.products.list({"limit": 2, "created": {"gte": made[0].created}})
    assert first.has_more is True
    rest = client.v1.products.list({"limit": 2, "created": {"gte": made[0].created},
                                    "starting_after": first.data[-1].id})
    names = [p.name for p in [*first.data, *rest.data]]
    assert sorted(names) == ["P0", "P1", "P2"] and len(rest.data) == 1


def test_rate_limit_answers_429_rate_limit(client, http):
    """Input: the limit set to 3/s and 6 quick reads; expect a RateLimitError with code rate_limit and a
    Request-Id, and no Stripe-Should-Retry header."""
    http.post("/_sandbox/rate_limit", json={"per_second": 3})
    with pytest.raises(stripe.RateLimitError) as limited:
        for _ in range(6):
            client.v1.customers.list({"limit": 1})
    assert limited.value.error.code == "rate_limit" and limited.value.http_status == 429
    assert limited.value.request_id.startswith("req_")
    assert "stripe-should-retry" not in {k.lower() for k in limited.value.headers}


def test_idempotency_keys_pruned_after_24h_of_sandbox_clock(http):
    """Input: POST /v1/customers with key k-old, clock +25 h, same key again; expect a second, new customer."""
    first = http.post("/v1/customers", data={"name": "Once"}, headers={"Idempotency-Key": "k-old"}).json()
    http.post("/_sandbox/clock", json={"advance_seconds": 25 * 3600})
    again = http.post("/v1/customers", data={"name": "Once"}, headers={"Idempotency-Key": "k-old"})
    assert again.headers.get("Idempotent-Replayed") is None and again.json()["id"] != first["id"]


def test_meter_events_reject_duplicate_identifiers(http):
    """Input: two meter events with identifier evt-1; expect the first accepted, the second 400."""
    body = {"event_name": "api_request", "payload[stripe_customer_id]": SEED.accounts[0].stripe_customer_id,
            "payload[value]": "3", "identifier": "evt-1"}
    first = http.post("/v1/billing/meter_events", data=body)
    assert first.status_code == 200 and first.json()["payload"]["value"] == "3"
    second = http.post("/v1/billing/meter_events", data=body)
    assert second.status_code == 400 and json.loads(second.text)["error"]["param"] == "identifier"
