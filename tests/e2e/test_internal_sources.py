"""Internal-database source assets materialized through Dagster against a real database (SQLite and
PostgreSQL): first read in chunks, then only what changed, bad rows dead-lettered, configuration errors clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from dagster import materialize

import assets.internal as internal_module
from assets.internal import internal_assets
from assets.resources import HubResource, InternalDatabaseResource
from sandboxes.internal_sample import build_internal_sample
from sandboxes.seed import build_seed
from store.hub import Hub

SEED = build_seed(42, scale=2)  # 24 customers, 120 usage events


@pytest.fixture
def internal_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'company.db'}"
    build_internal_sample(url, SEED)
    return url


def _run(db_url: str, internal_url: str, spec: str | None = None):
    resources = {"hub": HubResource(database_url=db_url), "internal": InternalDatabaseResource(url=internal_url)}
    return materialize(internal_assets(spec), resources=resources, raise_on_error=False)


def _metadata(result, table: str) -> dict:
    event = result.asset_materializations_for_node(f"internal__{table}")[0]
    return {key: value.value for key, value in event.metadata.items()}


def test_first_read_lands_every_row_then_only_changes(db_url, internal_url, monkeypatch):
    """Input: the sample's 24 customers (all sharing one updated_at) and 120 usage events, landed in chunks of
    7 rows; then 2 customers updated and 3 usage events added, and a second run."""
    monkeypatch.setattr(internal_module, "CHUNK_ROWS", 7)
    first = _run(db_url, internal_url)
    assert first.success
    customers, usage = _metadata(first, "customers"), _metadata(first, "usage_events")
    assert (customers["mode"], customers["inserted"], customers["rows"]) == ("full", 24, 24)
    assert (usage["inserted"], usage["rejected"]) == (120, 0)
    hub = Hub(db_url)
    assert len(hub.raw_payloads("internal", "customers")) == 24
    engine = sa.create_engine(internal_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE customers SET email = 'ap@example.com', updated_at = :at WHERE id IN (2, 9)"),
                     {"at": datetime(2026, 3, 1, 8, 30)})
        conn.execute(sa.text("INSERT INTO usage_events (id, stripe_customer_id, event_name, quantity, occurred_at) "
                             "VALUES (:id, :customer, 'api_calls', 10, :at)"),
                     [{"id": 1000 + n, "customer": SEED.accounts[n].stripe_customer_id,
                       "at": _now() + timedelta(seconds=n)} for n in range(3)])
    engine.dispose()
    second = _run(db_url, internal_url)
    assert second.success
    customers, usage = _metadata(second, "customers"), _metadata(second, "usage_events")
    assert (customers["mode"], customers["rows"], customers["updated"]) == ("incremental", 2, 2)
    assert (usage["rows"], usage["inserted"]) == (3, 3)
    emails = {external_id: payload["email"] for external_id, payload in hub.raw_payloads("internal", "customers")}
    assert emails["2"] == emails["9"] == "ap@example.com"
    assert _metadata(_run(db_url, internal_url), "usage_events")["rows"] == 0  # nothing new: nothing read


def _now() -> datetime:
    """Now, naive UTC as the sample stores it: later than every sample event (they end an hour before it)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def test_rows_the_mapping_refuses_are_dead_lettered_and_the_rest_land(db_url, internal_url):
    """Input: a usage event with a negative quantity and a customer in currency 'ZZZ' among the sample's rows."""
    engine = sa.create_engine(internal_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE usage_events SET quantity = -5 WHERE id = 4"))
        conn.execute(sa.text("UPDATE customers SET currency = 'ZZZ' WHERE id = 3"))
    engine.dispose()
    result = _run(db_url, internal_url)
    assert result.success
    assert _metadata(result, "usage_events")["rejected"] == 1
    assert _metadata(result, "customers")["rejected"] == 1
    hub = Hub(db_url)
    letters = {(letter.entity, letter.external_id): letter.reason for letter in hub.dead_letters("internal")}
    assert "negative quantity" in letters[("usage_events", "4")]
    assert "unknown currency code 'ZZZ'" in letters[("customers", "3")]
    assert len(hub.raw_payloads("internal", "usage_events")) == 119


def test_a_table_that_does_not_exist_fails_the_run_with_a_clear_error(db_url, internal_url):
    """Input: CONCORD_INTERNAL_TABLES naming a table the database lacks -> the run fails, saying so."""
    result = _run(db_url, internal_url, spec="invoices_2026:updated_at")
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert "internal table 'invoices_2026' does not exist" in str(failure.event_specific_data.error)
