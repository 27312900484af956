"""Stripe sandbox billing meters and meter event summaries, through the official SDK over HTTPS.

Shapes follow Stripe's fixtures (billing.meter, billing.meter_event_summary); the rules are Stripe's: one
active meter per event_name, summaries of one customer over minute-aligned [start_time, end_time), optionally
grouped by hour or day, and meter event identifiers refused a second time.
"""

from __future__ import annotations

import json

import pytest
import stripe

from connectors.stripe import http_client_trusting
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox

SEED = build_seed(42)
HOUR = 3600


@pytest.fixture(scope="module")
def sandbox(tls):
    server = StripeSandbox(SEED, tls=tls, rate_limit_per_second=None).start()
    yield server
    server.stop()


@pytest.fixture
def client(sandbox, tls) -> stripe.StripeClient:
    sandbox.state.reset()
    return stripe.StripeClient(sandbox.api_key, base_addresses={"api": sandbox.base_url}, max_network_retries=0,
                               http_client=http_client_trusting(str(tls.bundle_path)))


def _fixture_keys(name: str) -> set[str]:
    from pathlib import Path

    # The shared vendor specs sit beside the checkout (/work/shared), wherever the checkout is cloned to.
    spec = Path("/work/shared/vendor-specs/stripe/fixtures3.json")
    if not spec.exists():
        spec = Path(__file__).resolve().parents[3] / "shared" / "vendor-specs" / "stripe" / "fixtures3.json"
    data = json.loads(spec.read_text())
    return set((data.get("resources") or data)[name])


def _meter(client, event_name="api_calls", formula="sum"):
    return client.v1.billing.meters.create({"display_name": "API calls", "event_name": event_name,
                                            "default_aggregation": {"formula": formula}})


def test_a_meter_has_stripes_shape_and_its_event_name_is_taken_while_it_is_active(client):
    """Input: a sum meter on api_calls, then a second meter on api_calls; list and retrieve."""
    meter = _meter(client).to_dict()
    assert meter["id"].startswith("mtr_") and meter["status"] == "active"
    assert meter["customer_mapping"] == {"event_payload_key": "stripe_customer_id", "type": "by_id"}
    assert meter["value_settings"] == {"event_payload_key": "value"}
    assert set(meter) == _fixture_keys("billing.meter")
    with pytest.raises(stripe.InvalidRequestError, match="already exists"):
        _meter(client)
    assert [m.id for m in client.v1.billing.meters.list()] == [meter["id"]]
    assert client.v1.billing.meters.retrieve(meter["id"]).event_name == "api_calls"


def test_event_summaries_add_up_one_customers_events_in_the_range(client, sandbox):
    """Input: a sum meter; events of 5, 7 and 11 for customer A in two hours, 100 for customer B, 1000 for A
    under another event_name, and 13 for A after the range; summaries of A over the two hours, whole and by hour."""
    meter = _meter(client)
    a, b = SEED.accounts[0].stripe_customer_id, SEED.accounts[1].stripe_customer_id
    start = (sandbox.clock.now() // HOUR - 3) * HOUR
    sends = [("1", "api_calls", a, 5, start + 10), ("2", "api_calls", a, 7, start + 20),
             ("3", "api_calls", a, 11, start + HOUR + 5), ("4", "api_calls", b, 100, start + 30),
             ("5", "other_calls", a, 1000, start + 40), ("6", "api_calls", a, 13, start + 2 * HOUR)]
    for identifier, name, customer, value, timestamp in sends:
        client.v1.billing.meter_events.create({"event_name": name, "identifier": identifier, "timestamp": timestamp,
                                               "payload": {"stripe_customer_id": customer, "value": str(value)}})
    whole = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": a, "start_time": start, "end_time": start + 2 * HOUR})
    assert [(s.aggregated_value, s.start_time, s.end_time) for s in whole] == [(23, start, start + 2 * HOUR)]
    assert set(whole.data[0].to_dict()) == _fixture_keys("billing.meter_event_summary")
    hourly = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": a, "start_time": start, "end_time": start + 2 * HOUR, "value_grouping_window": "hour"})
    assert [(s.aggregated_value, s.start_time) for s in hourly] == [(11, start + HOUR), (12, start)]  # newest first


def test_count_meters_count_events_and_times_must_be_minute_aligned(client, sandbox):
    """Input: a count meter with three events of one customer; then a summary asked from a start_time of :30 s."""
    meter = _meter(client, "logins", "count")
    customer = SEED.accounts[0].stripe_customer_id
    start = (sandbox.clock.now() // HOUR - 1) * HOUR
    for n in range(3):
        client.v1.billing.meter_events.create({"event_name": "logins", "identifier": f"login-{n}", "timestamp": start,
                                               "payload": {"stripe_customer_id": customer, "value": "9"}})
    summary = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer, "start_time": start, "end_time": start + HOUR})
    assert summary.data[0].aggregated_value == 3
    with pytest.raises(stripe.InvalidRequestError, match="minute boundaries"):
        client.v1.billing.meters.event_summaries.list(
            meter.id, {"customer": customer, "start_time": start + 30, "end_time": start + HOUR})


def test_a_meter_event_identifier_is_refused_a_second_time(client, sandbox):
    """Input: the same identifier sent twice with different values and no idempotency key."""
    customer = SEED.accounts[0].stripe_customer_id
    now = sandbox.clock.now()
    client.v1.billing.meter_events.create({"event_name": "api_calls", "identifier": "dup-1", "timestamp": now,
                                           "payload": {"stripe_customer_id": customer, "value": "1"}})
    with pytest.raises(stripe.InvalidRequestError, match="already exists with identifier dup-1") as refused:
        client.v1.billing.meter_events.create({"event_name": "api_calls", "identifier": "dup-1", "timestamp": now,
                                               "payload": {"stripe_customer_id": customer, "value": "2"}})
    assert refused.value.code == "duplicate_meter_event"
    assert sandbox.state.meter_events["dup-1"]["payload"]["value"] == "1"
