"""QuickBooks sandbox webhooks: CloudEvents notifications to a registered local receiver, signed with
intuit-signature and checked with python-quickbooks' validate_webhook_signature; retried after a failure."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from quickbooks import QuickBooks

from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.seed import build_seed
from tests.sandboxes.test_quickbooks_sandbox import Api, new_customer, new_invoice


class Receiver:
    """A plain local HTTP endpoint that records each POST; answers `fail_next` requests with 500 first."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if receiver.fail_next > 0 else 200
                receiver.fail_next = max(0, receiver.fail_next - 1)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/qbo-webhooks"

    def events(self) -> list[dict]:
        return [event for _, body in self.received for event in json.loads(body)]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.events()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.events()


@pytest.fixture(scope="module")
def sandbox(tls):
    server = QuickBooksSandbox(build_seed(), tls=tls).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(sandbox, tls):
    with httpx.Client(base_url=sandbox.base_url, verify=str(tls.bundle_path), timeout=10) as client:
        yield client


@pytest.fixture
def receiver(http):
    http.post("/_sandbox/reset").raise_for_status()
    endpoint = Receiver()
    yield endpoint
    endpoint.server.shutdown()


def test_changes_arrive_as_signed_cloudevents(http, sandbox, receiver):
    """Input: an endpoint registered for Customer and Invoice; a customer, an invoice, an invoice update and its
    deletion -> four CloudEvents (created, created, updated, deleted) with the realm, signed with the verifier."""
    registered = http.post("/_sandbox/webhooks", json={"url": receiver.url, "entities": ["Customer", "Invoice"]})
    assert registered.json()["verifier_token"] == sandbox.credentials()["QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN"]
    api = Api(http, sandbox)
    customer = new_customer(api, "Webhook Works Ltd")
    invoice = new_invoice(api, customer, ["5.00"])
    api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "edited"})
    api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "1"}, operation="delete")
    http.post("/_sandbox/webhooks/deliver").raise_for_status()
    events = receiver.wait_for(4)
    assert [(event["type"], event["intuitentityid"]) for event in events] == [
        ("qbo.customer.created.v1", customer["Id"]), ("qbo.invoice.created.v1", invoice["Id"]),
        ("qbo.invoice.updated.v1", invoice["Id"]), ("qbo.invoice.deleted.v1", invoice["Id"])]
    first = events[0]
    assert first["specversion"] == "1.0" and first["source"].startswith("intuit.")
    assert first["intuitaccountid"] == sandbox.realm_id and first["data"] == {}
    assert first["time"].endswith("Z") and len({event["id"] for event in events}) == 4
    verifier = sandbox.credentials()["QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN"]
    for headers, body in receiver.received:
        assert QuickBooks().validate_webhook_signature(body.decode("utf-8"), headers["intuit-signature"], verifier)
        assert not QuickBooks().validate_webhook_signature(body.decode("utf-8") + " ", headers["intuit-signature"],
                                                           verifier)


def test_entity_filter_and_retry_after_failure(http, sandbox, receiver):
    """Input: an endpoint for Invoice only that fails its first delivery; a customer and an invoice created
    -> only the invoice event, delivered twice (the retry carries the same event id)."""
    receiver.fail_next = 1
    http.post("/_sandbox/webhooks", json={"url": receiver.url, "entities": ["Invoice"]}).raise_for_status()
    api = Api(http, sandbox)
    new_invoice(api, new_customer(api, "Filter Ltd"), ["1.00"])
    events = receiver.wait_for(2)
    assert [event["type"] for event in events] == ["qbo.invoice.created.v1"] * 2
    assert events[0]["id"] == events[1]["id"]
    deadline = time.monotonic() + 5
    log = http.get("/_sandbox/webhooks").json()
    while len(log) < 2 and time.monotonic() < deadline:  # the log entry lands just after the receiver answers
        time.sleep(0.02)
        log = http.get("/_sandbox/webhooks").json()
    assert [entry["status"] for entry in log][:2] == [500, 200]


def test_registration_is_validated(http):
    """Input: a registration without a URL and one with an unknown entity -> both 400."""
    assert http.post("/_sandbox/webhooks", json={"entities": ["Invoice"]}).status_code == 400
    assert http.post("/_sandbox/webhooks", json={"url": "http://x", "entities": ["Nope"]}).status_code == 400
