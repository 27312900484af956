"""Stripe sandbox webhook faults: the `webhooks` fault profile duplicates deliveries (same event id) and
holds some back so later events overtake them; every delivery still carries a valid Stripe-Signature.
Driven through the official SDK against a running sandbox and a local receiver."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import stripe

from connectors.stripe import http_client_trusting
from sandboxes.faults import FaultProfile
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox


@pytest.fixture(scope="module")
def sandbox(tls):
    server = StripeSandbox(build_seed(42), tls=tls, rate_limit_per_second=None,
                           webhook_retry_delays=(0.05,)).start()
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
def fresh(http, sandbox):
    http.post("/_sandbox/reset").raise_for_status()
    yield
    sandbox.inject_faults(None, 0)


class Receiver:
    """A local webhook endpoint that records every body and signature, answering 200."""

    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append((body, self.headers["Stripe-Signature"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def _verified(receiver: Receiver, secret: str) -> list[stripe.Event]:
    return [stripe.Webhook.construct_event(body, signature, secret) for body, signature in receiver.bodies]


def test_duplicate_fault_delivers_the_same_event_twice(client, sandbox, receiver):
    """Input: a profile with webhook_duplicate=1.0, then 3 customers created; expect 6 deliveries, each event id
    exactly twice with identical bodies (but pending_webhooks), all signatures valid, duplicates marked."""
    endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.created"]})
    sandbox.inject_faults(FaultProfile("dup", "always duplicate", webhook_duplicate=1.0), seed=7)
    created = [client.v1.customers.create({"name": f"Dup {n}"}).id for n in range(3)]
    assert sandbox.webhooks.wait_idle(5)
    events = _verified(receiver, endpoint.secret)
    assert len(events) == 6
    assert sorted(event.data.object.id for event in events) == sorted(created * 2)
    by_id: dict[str, list[dict]] = {}
    for body, _ in receiver.bodies:
        payload = json.loads(body)
        payload.pop("pending_webhooks")  # the only field that may move between the two sends
        by_id.setdefault(payload["id"], []).append(payload)
    assert all(len(copies) == 2 and copies[0] == copies[1] for copies in by_id.values())
    assert sum(attempt["fault"] == "duplicate" for attempt in sandbox.webhooks.attempts) == 3
    assert sandbox.fault_injector.report()["injected"]["webhook_duplicate"] == 3


def test_reorder_fault_lets_a_later_event_overtake(client, sandbox, receiver, http):
    """Input: the `webhooks` profile set over POST /_sandbox/fault-profile (seed 3), then a reorder-always profile
    for the first customer creation and none for the second, created back to back; expect the second
    customer's event to arrive before the first one's, both signed validly, the held one marked `reordered`."""
    endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.created"]})
    answer = http.post("/_sandbox/fault-profile", json={"profile": "webhooks", "seed": 3})
    assert answer.json()["profile"] == "webhooks"
    sandbox.inject_faults(FaultProfile("hold-first", "hold every delivery", webhook_reorder=1.0), seed=1)
    first = client.v1.customers.create({"name": "First"})
    sandbox.inject_faults(None, 0)  # the next delivery goes straight out and overtakes the held one
    second = client.v1.customers.create({"name": "Second"})
    assert sandbox.webhooks.wait_idle(5)
    events = _verified(receiver, endpoint.secret)
    assert [event.data.object.id for event in events] == [second.id, first.id]
    held = [attempt for attempt in sandbox.webhooks.attempts if attempt["fault"] == "reordered"]
    assert [attempt["event"] for attempt in held] == [events[1].id]


def test_webhooks_profile_is_reproducible_from_its_seed(client, sandbox, receiver, http):
    """Input: the named `webhooks` profile (30 % duplicate, 30 % reorder) with seed 11 over 12 customer
    creations, run twice from a reset; expect the same faults in the same places both times, every event
    delivered at least once, and every signature valid."""
    runs = []
    for _ in range(2):
        http.post("/_sandbox/reset").raise_for_status()
        receiver.bodies.clear()
        endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.created"]})
        http.post("/_sandbox/fault-profile", json={"profile": "webhooks", "seed": 11}).raise_for_status()
        names = [client.v1.customers.create({"name": f"Seeded {n}"}).id for n in range(12)]
        assert sandbox.webhooks.wait_idle(5)
        events = _verified(receiver, endpoint.secret)
        assert {event.data.object.id for event in events} == set(names)
        report = http.get("/_sandbox/fault-profile").json()["injected"]
        runs.append((report, sorted(a["fault"] or "" for a in sandbox.webhooks.attempts)))
        sandbox.inject_faults(None, 0)
    assert runs[0] == runs[1]
    assert runs[0][0].get("webhook_duplicate", 0) + runs[0][0].get("webhook_reorder", 0) > 0
