"""Deleting a Stripe customer through the real SDK: the stub answer, the event, lists and later calls."""

from __future__ import annotations

import ssl

import httpx
import pytest
import stripe

from connectors.stripe import http_client_trusting
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox

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


@pytest.fixture(autouse=True)
def fresh_state(sandbox, tls):
    with httpx.Client(base_url=sandbox.base_url, verify=ssl.create_default_context(cafile=str(tls.bundle_path))) as c:
        c.post("/_sandbox/reset").raise_for_status()


def test_delete_answers_the_stub_emits_the_event_and_drops_the_customer_from_lists(client):
    customer = client.v1.customers.create({"name": "Short-lived Ltd", "email": "gone@example.com"})
    deleted = client.v1.customers.delete(customer.id)
    assert deleted.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
    # A retrieve still answers 200 with the stub, as Stripe does; lists no longer show it.
    assert client.v1.customers.retrieve(customer.id).to_dict() == deleted.to_dict()
    assert customer.id not in {c.id for c in client.v1.customers.list({"limit": 100}).auto_paging_iter()}
    events = client.v1.events.list({"type": "customer.deleted"}).data
    assert [event.data.object["id"] for event in events] == [customer.id]
    assert events[0].data.object["email"] == "gone@example.com"  # the customer as it was


def test_a_deleted_customer_cannot_be_updated_or_deleted_again(client):
    """Input: an update and a second delete of a deleted customer -> 404 resource_missing each."""
    customer = client.v1.customers.create({"name": "Twice Ltd"})
    client.v1.customers.delete(customer.id)
    for call in (lambda: client.v1.customers.update(customer.id, {"name": "Back"}),
                 lambda: client.v1.customers.delete(customer.id)):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            call()
        assert raised.value.http_status == 404 and raised.value.code == "resource_missing"


def test_deleting_a_seeded_customer_cancels_its_subscription(client):
    seeded = SEED.accounts[0].stripe_customer_id
    live = client.v1.subscriptions.list({"customer": seeded}).data
    assert live, "the seeded history gives every customer a subscription"
    client.v1.customers.delete(seeded)
    after = client.v1.subscriptions.retrieve(live[0].id)
    assert after.status == "canceled" and after.ended_at is not None
    assert client.v1.events.list({"type": "customer.subscription.deleted"}).data[0].data.object["id"] == live[0].id
