"""The usage row of the sync rules through Dagster: internal usage events -> Stripe meter events, on both
hub backends, against the real sandboxes and the embedded internal sample."""

from __future__ import annotations

import sqlalchemy as sa
from dagster import AssetSelection, materialize

from sandboxes.seed import build_seed
from tests.e2e.conftest import control

SEED = build_seed(42)
METER_EVENTS = "/v1/billing/meter_events"
USAGE_NODE = "sync__stripe__usage"


def _sync_usage(dagster_instance):
    from assets.definitions import ALL_ASSETS, defs

    selection = AssetSelection.assets(["internal", "usage_events"], ["stripe", "customers"],
                                      ["salesforce", "accounts"], ["canonical", "customers"],
                                      ["sync", "stripe", "usage"])
    return materialize(ALL_ASSETS, selection=selection, resources=defs.resources, instance=dagster_instance,
                       raise_on_error=False)


def _sample_events(concord_env_url: str) -> dict[str, dict]:
    engine = sa.create_engine(concord_env_url)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(sa.text("SELECT * FROM usage_events"))]
    engine.dispose()
    return {str(row["id"]): row for row in rows}


def test_every_sample_usage_event_lands_once_and_a_second_run_sends_nothing(concord_env, hub, sandboxes,
                                                                            dagster_instance, monkeypatch):
    """Input: the embedded internal sample (12 customers x 5 usage events in the last 30 days); the usage
    sync materialized twice through Dagster."""
    import os

    events = _sample_events(os.environ["CONCORD_INTERNAL_DB_URL"])
    first = _sync_usage(dagster_instance)
    assert first.success
    metadata = {key: value.value for key, value in first.asset_materializations_for_node(USAGE_NODE)[0]
                .metadata.items()}
    assert (metadata["planned"], metadata["sent"], metadata["dead_lettered"], metadata["failed"]) == (
        len(events), len(events), 0, 0)
    assert metadata["http_non_success"] == 0 and len(metadata["examples"].split(", ")) == 10
    landed = dict(sandboxes.servers["stripe"].state.meter_events)
    assert sorted(landed) == sorted(events)
    assert all(landed[event_id]["payload"] == {"stripe_customer_id": row["stripe_customer_id"],
                                               "value": str(row["quantity"])} for event_id, row in events.items())

    posts = [r for r in control(sandboxes, "stripe", "/_sandbox/requests") if r["path"] == METER_EVENTS]
    second = _sync_usage(dagster_instance)
    assert second.success
    again = second.asset_materializations_for_node(USAGE_NODE)[0].metadata
    assert (again["planned"].value, again["sent"].value) == (0, 0)
    assert [r for r in control(sandboxes, "stripe", "/_sandbox/requests") if r["path"] == METER_EVENTS] == posts


def test_a_run_whose_meter_events_fail_is_not_a_success_and_the_next_run_sends_them(concord_env, hub, sandboxes,
                                                                                    dagster_instance):
    """Input: the sample cut to 8 usage events (each failing event costs seconds of backoff); Stripe answers 500
    to every meter event request (past every retry: 3 SDK tries x 3 calls each); then it recovers."""
    import os

    engine = sa.create_engine(os.environ["CONCORD_INTERNAL_DB_URL"])
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM usage_events WHERE id > 8"))
    engine.dispose()
    control(sandboxes, "stripe", "/_sandbox/faults", {"status": 500, "count": 10_000, "path": METER_EVENTS})
    failed = _sync_usage(dagster_instance)
    assert not failed.success
    assert hub.outbox_counts()["failed"] == 8 and len(sandboxes.servers["stripe"].state.meter_events) == 0
    control(sandboxes, "stripe", "/_sandbox/reset", {})  # clears the faults (and the sandbox's meter events: none)
    recovered = _sync_usage(dagster_instance)
    assert recovered.success
    assert sorted(sandboxes.servers["stripe"].state.meter_events) == [str(n) for n in range(1, 9)]
    assert hub.outbox_counts()["failed"] == 0
