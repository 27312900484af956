"""QuickBooks webhook faults: under a fault profile a notification is sent twice, or held back and sent
after the next one; every body still carries a valid intuit-signature (checked with python-quickbooks)."""

from __future__ import annotations

import json

import pytest
from quickbooks import QuickBooks

from sandboxes.faults import FaultProfile
from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.seed import build_seed
from tests.sandboxes.quickbooks_clients import Api, Receiver, new_customer

ALWAYS_DUPLICATE = FaultProfile("always-duplicate", "every notification twice", webhook_duplicate=1.0)
ALWAYS_REORDER = FaultProfile("always-reorder", "every notification held back", webhook_reorder=1.0)


@pytest.fixture(scope="module")
def qb_sandbox(tls):
    server = QuickBooksSandbox(build_seed(), tls=tls).start()
    # The background worker waits this long before a round, so the test's explicit rounds decide the order.
    server.webhooks.window_seconds = 30
    yield server
    server.stop()


@pytest.fixture
def receiver(qb_http, qb_sandbox):
    qb_http.post("/_sandbox/reset").raise_for_status()
    endpoint = Receiver()
    qb_http.post("/_sandbox/webhooks", json={"url": endpoint.url, "entities": ["Customer"]}).raise_for_status()
    yield endpoint
    qb_sandbox.inject_faults(None, 0)
    endpoint.server.shutdown()


def signatures_verify(qb_sandbox: QuickBooksSandbox, receiver: Receiver) -> bool:
    verifier = qb_sandbox.credentials()["QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN"]
    return all(QuickBooks().validate_webhook_signature(body.decode("utf-8"), headers["intuit-signature"], verifier)
               for headers, body in receiver.received)


def test_duplicate_fault_sends_the_same_notification_twice(qb_http, qb_sandbox, receiver):
    """Input: a profile that always duplicates; one customer created, one delivery round -> two identical
    signed POSTs with the same event id; the delivery log marks the second "duplicate"."""
    qb_sandbox.inject_faults(ALWAYS_DUPLICATE, 7)
    customer = new_customer(Api(qb_http, qb_sandbox), "Twice Told Ltd")
    qb_http.post("/_sandbox/webhooks/deliver").raise_for_status()
    assert len(receiver.received) == 2
    assert receiver.received[0][1] == receiver.received[1][1]
    assert [event["intuitentityid"] for event in receiver.events()] == [customer["Id"]] * 2
    assert signatures_verify(qb_sandbox, receiver)
    assert [entry["fault"] for entry in qb_http.get("/_sandbox/webhooks").json()] == [None, "duplicate"]
    assert qb_sandbox.fault_injector.report()["injected"]["webhook_duplicate"] == 1


def test_reorder_fault_delivers_a_notification_after_the_next(qb_http, qb_sandbox, receiver):
    """Input: a profile that always reorders; customer A created + a round, then customer B + a round
    -> the receiver gets B's notification first, then A's; both verify."""
    qb_sandbox.inject_faults(ALWAYS_REORDER, 7)
    qb_api = Api(qb_http, qb_sandbox)
    first = new_customer(qb_api, "Early Bird Ltd")
    held = qb_http.post("/_sandbox/webhooks/deliver").json()
    assert [entry["fault"] for entry in held] == ["held"] and receiver.received == []
    second = new_customer(qb_api, "Late Comer Ltd")
    qb_http.post("/_sandbox/webhooks/deliver").raise_for_status()
    assert [event["intuitentityid"] for event in receiver.events()] == [second["Id"], first["Id"]]
    assert signatures_verify(qb_sandbox, receiver)
    assert [entry["fault"] for entry in qb_http.get("/_sandbox/webhooks").json()] == ["held", None, "reordered"]


def test_held_notification_still_arrives_when_nothing_follows(qb_http, qb_sandbox, receiver):
    """Input: reorder fault, one customer, two rounds with no other change -> the held notification arrives
    on the second round (never lost)."""
    qb_sandbox.inject_faults(ALWAYS_REORDER, 7)
    customer = new_customer(Api(qb_http, qb_sandbox), "Lonely Ltd")
    qb_http.post("/_sandbox/webhooks/deliver").raise_for_status()
    assert receiver.received == []
    qb_http.post("/_sandbox/webhooks/deliver").raise_for_status()
    assert [event["intuitentityid"] for event in receiver.events()] == [customer["Id"]]
    assert json.loads(receiver.received[0][1])[0]["type"] == "qbo.customer.created.v1"


def test_no_profile_means_exactly_once_in_order(qb_http, qb_sandbox, receiver):
    """Input: no fault profile; two customers with a round after each -> two POSTs, in creation order."""
    qb_api = Api(qb_http, qb_sandbox)
    ids = []
    for name in ("Orderly One Ltd", "Orderly Two Ltd"):
        ids.append(new_customer(qb_api, name)["Id"])
        qb_http.post("/_sandbox/webhooks/deliver").raise_for_status()
    assert [event["intuitentityid"] for event in receiver.events()] == ids
    assert all(entry["fault"] is None for entry in qb_http.get("/_sandbox/webhooks").json())
