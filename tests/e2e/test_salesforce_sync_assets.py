"""The Salesforce sync assets (assets/sync_salesforce.py) materialized with the code location's own resources,
configured only through the environment, against the real sandboxes on both hub backends."""

from __future__ import annotations

from dagster import AssetKey, materialize

from tests.e2e.conftest import control

SOURCES = [["stripe", "products"], ["stripe", "prices"], ["stripe", "subscriptions"], ["salesforce", "accounts"]]
SYNC = [["sync", "salesforce", "products"], ["sync", "salesforce", "accounts"]]


def _materialize(dagster_instance, keys: list[list[str]], raise_on_error: bool = True):
    from assets.definitions import ALL_ASSETS, defs

    return materialize(ALL_ASSETS, selection=[AssetKey(key) for key in keys], resources=defs.resources,
                       instance=dagster_instance, raise_on_error=raise_on_error)


def _metadata(result) -> dict[str, dict]:
    return {event.materialization.asset_key.to_user_string():
            {name: value.value for name, value in event.materialization.metadata.items()}
            for event in result.get_asset_materialization_events()}


def test_sync_assets_write_the_catalog_and_billing_then_a_second_run_writes_nothing(hub, dagster_instance,
                                                                                     sandboxes):
    """Input: the seeded sandboxes; the Stripe sources and Salesforce accounts, then both sync assets, twice.
    Expect the first run to upsert the 3 products, 30 prices and 1 custom price book (34 rows) and the 12 customers'
    billing fields, with small metadata (counts, 10 example ids, Salesforce's response counts); the second run plans
    nothing."""
    _materialize(dagster_instance, SOURCES)
    first = _metadata(_materialize(dagster_instance, SYNC))
    products, accounts = first["sync/salesforce/products"], first["sync/salesforce/accounts"]
    assert (products["planned"], products["failed"], products["waiting"]) == (34, 0, 0)
    assert (accounts["planned"], accounts["updated"], accounts["failed"]) == (12, 12, 0)
    assert products["http_non_success"] == 0 and len(products) < 20
    assert len(accounts["examples"].split(", ")) == 10 and accounts["examples"].startswith("cus_")
    again = _metadata(_materialize(dagster_instance, SYNC))
    assert again["sync/salesforce/products"]["planned"] == 0 and again["sync/salesforce/accounts"]["planned"] == 0
    assert again["sync/salesforce/accounts"]["http_requests"] == 0


def test_a_failed_write_fails_the_asset_and_its_row_stays_in_the_outbox(hub, dagster_instance, sandboxes):
    """Input: every Salesforce write locked (UNABLE_TO_LOCK_ROW) for longer than the connector retries it, then
    the accounts sync asset. Expect the run to fail (not a success with ignored errors) and the 12 rows to stay in
    the outbox, failed with Salesforce's code, for the next run."""
    _materialize(dagster_instance, SOURCES)
    control(sandboxes, "salesforce", "/_sandbox/lock_rows", {"ids": [], "times": 1000})
    result = _materialize(dagster_instance, [SYNC[1]], raise_on_error=False)
    assert not result.success
    failed = hub.pending("salesforce", "account_billing")
    assert len(failed) == 12 and all("UNABLE_TO_LOCK_ROW" in row.last_error for row in failed)
