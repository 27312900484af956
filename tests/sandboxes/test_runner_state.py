"""State files: sandboxes persist only when asked, and come back as they were left."""

from __future__ import annotations

from connectors.quickbooks import QuickBooksConnector
from connectors.stripe import StripeConnector
from sandboxes.runner import start_sandboxes


def _clients(env):
    stripe_connector = StripeConnector(env["STRIPE_API_KEY"], env["STRIPE_API_BASE"], env["CONCORD_CA_BUNDLE"])
    qb = QuickBooksConnector(env["QUICKBOOKS_BASE_URL"], env["QUICKBOOKS_REALM_ID"], env["QUICKBOOKS_ACCESS_TOKEN"],
                             env["CONCORD_CA_BUNDLE"])
    return stripe_connector, qb


def test_state_file_brings_back_every_sandbox(tmp_path):
    """Input: a Stripe customer and a QuickBooks customer created, state saved, sandboxes stopped, then
    started again from the file (and once more without it)."""
    state = tmp_path / "sandboxes.json"
    with start_sandboxes(state_dir=tmp_path / "a", vendor_limits=False) as first:
        stripe_connector, qb = _clients(first.environment())
        created = stripe_connector.create_customer({"name": "Kept Ltd"}, idempotency_key="kept-1")
        qb.create_customer({"DisplayName": "Kept Ltd"}, request_id="kept-1")
        first.save_state(state)
    assert state.exists()

    with start_sandboxes(state_dir=tmp_path / "b", vendor_limits=False, state_file=state) as second:
        stripe_connector, qb = _clients(second.environment())
        assert stripe_connector.retrieve_customer(created["id"])["name"] == "Kept Ltd"
        assert qb.find_customer_by_display_name("Kept Ltd") is not None
        # a new write gets a fresh id, not one the restored state already uses
        again = stripe_connector.create_customer({"name": "New Ltd"}, idempotency_key="new-1")
        assert again["id"] != created["id"]

    with start_sandboxes(state_dir=tmp_path / "c", vendor_limits=False) as fresh:
        _, qb = _clients(fresh.environment())
        assert qb.find_customer_by_display_name("Kept Ltd") is None  # no file, no state
