"""QuickBooks sandbox webhooks: CloudEvents notifications to a registered local receiver, signed with
intuit-signature and checked with python-quickbooks' validate_webhook_signature; retried after a failure."""

from __future__ import annotations

import time

import pytest
from quickbooks import QuickBooks

from tests.sandboxes.quickbooks_clients import Api, Receiver, new_customer, new_invoice


@pytest.fixture
def receiver(qb_http):
    qb_http.post("/_sandbox/reset").raise_for_status()
    endpoint = Receiver()
    yield endpoint
    endpoint.server.shutdown()


def test_changes_arrive_as_signed_cloudevents(qb_http, qb_sandbox, receiver):
    """Input: an endpoint registered for Customer and Invoice; a customer, an invoice, an invoice update and its
    deletion -> four CloudEvents (created, created, updated, deleted) with the realm, signed with the verifier."""
    registered = qb_http.post("/_sandbox/webhooks", json={"url": receiver.url, "entities": ["Customer", "Invoice"]})
    assert registered.json()["verifier_token"] == qb_sandbox.credentials()["QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN"]
    qb_api = Api(qb_http, qb_sandbox)
    customer = new_customer(qb_api, "Webhook Works Ltd")
    invoice = new_invoice(qb_api, customer, ["5.00"])
    qb_api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "edited"})
    qb_api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "1"}, operation="delete")
    qb_http.post("/_sandbox/webhooks/deliver").raise_for_status()
    events = receiver.wait_for(4)
    assert [(event["type"], event["intuitentityid"]) for event in events] == [
        ("qbo.customer.created.v1", customer["Id"]), ("qbo.invoice.created.v1", invoice["Id"]),
        ("qbo.invoice.updated.v1", invoice["Id"]), ("qbo.invoice.deleted.v1", invoice["Id"])]
    first = events[0]
    assert first["specversion"] == "1.0" and first["source"].startswith("intuit.")
    assert first["intuitaccountid"] == qb_sandbox.realm_id and first["data"] == {}
    assert first["time"].endswith("Z") and len({event["id"] for event in events}) == 4
    verifier = qb_sandbox.credentials()["QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN"]
    for headers, body in receiver.received:
        assert QuickBooks().validate_webhook_signature(body.decode("utf-8"), headers["intuit-signature"], verifier)
        assert not QuickBooks().validate_webhook_signature(body.decode("utf-8") + " ", headers["intuit-signature"],
                                                           verifier)


def test_entity_filter_and_retry_after_failure(qb_http, qb_sandbox, receiver):
    """Input: an endpoint for Invoice only that fails its first delivery; a customer and an invoice created
    -> only the invoice event, delivered twice (the retry carries the same event id)."""
    receiver.fail_next = 1
    qb_http.post("/_sandbox/webhooks", json={"url": receiver.url, "entities": ["Invoice"]}).raise_for_status()
    qb_api = Api(qb_http, qb_sandbox)
    new_invoice(qb_api, new_customer(qb_api, "Filter Ltd"), ["1.00"])
    events = receiver.wait_for(2)
    assert [event["type"] for event in events] == ["qbo.invoice.created.v1"] * 2
    assert events[0]["id"] == events[1]["id"]
    deadline = time.monotonic() + 5
    log = qb_http.get("/_sandbox/webhooks").json()
    while len(log) < 2 and time.monotonic() < deadline:  # the log entry lands just after the receiver answers
        time.sleep(0.02)
        log = qb_http.get("/_sandbox/webhooks").json()
    assert [entry["status"] for entry in log][:2] == [500, 200]


def test_registration_is_validated(qb_http):
    """Input: a registration without a URL and one with an unknown entity -> both 400."""
    assert qb_http.post("/_sandbox/webhooks", json={"entities": ["Invoice"]}).status_code == 400
    assert qb_http.post("/_sandbox/webhooks", json={"url": "http://x", "entities": ["Nope"]}).status_code == 400
