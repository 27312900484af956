"""The concord_sync job with Closed Won Accounts that have no Stripe customer yet (assets/sync_stripe.py).

Input everywhere: the seeded company (12 Accounts, each won and already a Stripe customer), plus Accounts planted
in the Salesforce sandbox over its control API. Everything else goes through the job: the Salesforce and Stripe
sources, the Stripe customer sync, then (next run) the Stripe source reading the new customer back, the canonical
customers and QuickBooks.
"""

from __future__ import annotations

import os

from concord.jobs import run_job
from connectors.quickbooks import QuickBooksConnector
from connectors.stripe import StripeConnector
from connectors.stripe_sync import ENTITY, SYSTEM, metadata_query
from sandboxes.seed import build_seed
from tests.e2e.conftest import control

SEED = build_seed(42)
NODE = "sync__stripe__customers"


def _plant(sandboxes, name: str, stages: list[str]) -> str:
    [account_id] = control(sandboxes, "salesforce", "/_sandbox/records/Account",
                           [{"Name": name, "CurrencyIsoCode": "GBP"}])["ids"]
    control(sandboxes, "salesforce", "/_sandbox/records/Opportunity",
            [{"AccountId": account_id, "Name": f"{name} {stage}", "StageName": stage, "CloseDate": "2026-02-01",
              "Amount": 990, "CurrencyIsoCode": "GBP"} for stage in stages])
    return account_id


def _stripe() -> StripeConnector:
    return StripeConnector(os.environ["STRIPE_API_KEY"], os.environ["STRIPE_API_BASE"], os.environ["CONCORD_CA_BUNDLE"])


def _metadata(result) -> dict:
    return {key: value.value for key, value in result.asset_materializations_for_node(NODE)[0].metadata.items()}


def test_won_account_becomes_a_stripe_customer_and_flows_on_next_run(concord_env, hub, sandboxes, dagster_instance):
    """Input: "Newly Won Ltd" (Closed Won) and "Still Open plc" (Prospecting) planted. Expect the first run to create
    one Stripe customer and write its id back to the Account, the seeded Accounts untouched; the second run to read
    it back from Stripe (landed, canonical, then in QuickBooks) and to create nothing."""
    won = _plant(sandboxes, "Newly Won Ltd", ["Closed Won"])
    still_open = _plant(sandboxes, "Still Open plc", ["Prospecting"])

    first = run_job("concord_sync", dagster_instance)
    assert first.success
    assert {k: _metadata(first)[k] for k in ("planned", "written", "written_back", "failed")} == {
        "planned": 1, "written": 1, "written_back": 1, "failed": 0}
    [customer] = _stripe().search_customers(metadata_query(won))
    assert customer["name"] == "Newly Won Ltd" and _stripe().search_customers(metadata_query(still_open)) == []
    account = next(a for a in control(sandboxes, "salesforce", "/_sandbox/records/Account") if a["Id"] == won)
    assert account["Stripe_Customer_Id__c"] == customer["id"]

    second = run_job("concord_sync", dagster_instance)
    assert second.success
    assert (_metadata(second)["planned"], _metadata(second)["written"]) == (0, 0)
    assert customer["id"] in dict(hub.raw_payloads("stripe", "customer"))
    assert dict(hub.raw_payloads("salesforce", "account"))[won]["Stripe_Customer_Id__c"] == customer["id"]
    assert customer["id"] in {c.stripe_id for c in hub.customers()}
    qb = QuickBooksConnector(os.environ["QUICKBOOKS_BASE_URL"], os.environ["QUICKBOOKS_REALM_ID"],
                             os.environ["QUICKBOOKS_ACCESS_TOKEN"], os.environ["CONCORD_CA_BUNDLE"])
    assert len(list(qb.iter_customers())) == len(SEED.accounts) + 1
    assert len(list(_stripe().iter_customers())) == len(SEED.accounts) + 1


def test_a_failed_stripe_write_fails_the_run_and_the_next_run_creates_one(concord_env, hub, sandboxes,
                                                                          dagster_instance):
    """Input: a won Account, and Stripe answering its customer create once with 401 (an expired key: not retried).
    Expect the run to fail on the sync step (the row stays in the outbox), and the next run to land exactly one."""
    won = _plant(sandboxes, "Retried Later GmbH", ["Closed Won"])
    control(sandboxes, "stripe", "/_sandbox/faults", {"status": 401, "count": 1, "method": "POST",
                                                      "path": "/v1/customers"})

    first = run_job("concord_sync", dagster_instance)
    assert not first.success
    failed = {event.step_key for event in first.all_events if event.is_step_failure}
    assert failed == {NODE}
    [row] = hub.pending(SYSTEM, ENTITY)
    assert row.attempts == 1 and row.canonical_key == won

    assert run_job("concord_sync", dagster_instance).success
    assert len(_stripe().search_customers(metadata_query(won))) == 1
    assert hub.pending(SYSTEM, ENTITY) == []
