"""Internal usage events pushed to the Stripe sandbox as billing meter events, over HTTPS with the real SDK.

Events are counted where they land: in the sandbox's own store of meter events (by identifier) and its
request log. Each test runs on SQLite and on PostgreSQL (db_url).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from connectors.stripe import StripeConnector, http_client_trusting
from connectors.stripe_usage_sync import ENTITY, SYSTEM, UsageCounts, plan_usage, push_usage
from mappings.stripe import customer_from_stripe
from sandboxes.seed import build_seed
from store.hub import Hub

SEED = build_seed(42)
FLAKY_SEED = 4  # with this seed `flaky` drops committed answers, 5xx-es and truncates among 60 sends
METER_EVENTS = "/v1/billing/meter_events"


@pytest.fixture
def connector(stripe_sandbox, tls, stripe_control):
    stripe_control.post("/_sandbox/reset").raise_for_status()
    stripe_sandbox.inject_faults(None, seed=0)
    creds = stripe_sandbox.credentials()
    return StripeConnector(creds["STRIPE_API_KEY"], creds["STRIPE_API_BASE"], str(tls.bundle_path))


@pytest.fixture
def hub(db_url, connector):
    """A hub holding the Stripe customers as canonical customers, read from the sandbox."""
    store = Hub(db_url)
    store.migrate()
    store.upsert_customers([customer_from_stripe(customer) for customer in connector.iter_customers()])
    yield store
    store.dispose()


def _event(event_id: int, customer: str, quantity=5, age=timedelta(hours=2)) -> tuple[str, dict]:
    """A usage row as the internal asset lands it (naive UTC timestamp, as the internal DB stores it)."""
    occurred = (datetime.now(UTC) - age).replace(tzinfo=None, microsecond=0)
    return str(event_id), {"id": event_id, "stripe_customer_id": customer, "event_name": "api_calls",
                           "quantity": quantity, "occurred_at": occurred.isoformat()}


def _land(hub: Hub, events: list[tuple[str, dict]]) -> None:
    hub.land_raw("internal", "usage_events", events)


def _good_events(count: int, first_id: int = 1) -> list[tuple[str, dict]]:
    customers = [account.stripe_customer_id for account in SEED.accounts]
    return [_event(first_id + n, customers[n % len(customers)], quantity=n + 1) for n in range(count)]


def _in_stripe(stripe_sandbox) -> dict[str, dict]:
    return dict(stripe_sandbox.state.meter_events)


def _usage_by_customer(stripe_sandbox, tls, events: list[tuple[str, dict]]) -> tuple[dict[str, int], dict[str, int]]:
    """(what the internal events add up to per customer, what Stripe's meter event summaries say), the latter
    read through the SDK from a sum meter on api_calls over the events' whole time range."""
    client = stripe.StripeClient(stripe_sandbox.api_key, base_addresses={"api": stripe_sandbox.base_url},
                                 http_client=http_client_trusting(str(tls.bundle_path)))
    meter = next(iter(client.v1.billing.meters.list({"status": "active"})), None) or client.v1.billing.meters.create(
        {"display_name": "API calls", "event_name": "api_calls", "default_aggregation": {"formula": "sum"}})
    expected: dict[str, int] = {}
    for _, row in events:
        expected[row["stripe_customer_id"]] = expected.get(row["stripe_customer_id"], 0) + int(row["quantity"])
    now = int(datetime.now(UTC).timestamp()) // 60 * 60
    reported = {customer: sum(summary.aggregated_value for summary in client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer, "start_time": now - 36 * 86_400, "end_time": now + 3600}))
        for customer in expected}
    return expected, reported


def _posts(stripe_control, status: int | None = None) -> int:
    """Meter event creates the sandbox received (with `status`: only those it answered so; the sandbox holds
    Stripe's 25 req/s test-mode limit, so eight workers without a client-side limiter meet a 429 now and then)."""
    return sum(1 for entry in stripe_control.get("/_sandbox/requests").json()
               if entry["path"] == METER_EVENTS and entry["method"] == "POST"
               and (status is None or entry["status"] == status))


def test_each_usage_event_lands_once_and_a_second_run_sends_nothing(
        hub, connector, stripe_sandbox, stripe_control, tls):
    """Input: 30 landed usage events over the 12 seeded customers; push, then push again."""
    events = _good_events(30)
    _land(hub, events)
    first = push_usage(hub, connector)
    assert (first.planned, first.sent, first.failed, first.dead_lettered) == (30, 30, 0, 0)
    landed = _in_stripe(stripe_sandbox)
    assert sorted(landed) == sorted(event_id for event_id, _ in events)  # identifier = internal event id
    for event_id, row in events:
        assert landed[event_id]["payload"] == {"stripe_customer_id": row["stripe_customer_id"],
                                               "value": str(row["quantity"])}
        assert landed[event_id]["event_name"] == "api_calls"
        expected = datetime.fromisoformat(row["occurred_at"]).replace(tzinfo=UTC)
        assert landed[event_id]["timestamp"] == int(expected.timestamp())
    assert hub.links(ENTITY, SYSTEM) == {event_id: event_id for event_id, _ in events}
    assert _posts(stripe_control, status=200) == 30
    posts = _posts(stripe_control)

    second = push_usage(hub, connector)
    assert (second.planned, second.sent, second.adopted) == (0, 0, 0)
    assert _posts(stripe_control) == posts  # nothing sent again
    assert len(_in_stripe(stripe_sandbox)) == 30
    expected, reported = _usage_by_customer(stripe_sandbox, tls, events)
    assert reported == expected  # what Stripe will bill each customer for


def _crash_after_stripe_accepted(hub: Hub, connector: StripeConnector) -> None:
    """What a pusher has done when it dies between Stripe's answer and mark_done: planned the rows, counted
    the attempt, sent each event with its stored key, and recorded nothing."""
    plan_usage(hub, UsageCounts(), datetime.now(UTC))
    rows = hub.pending(SYSTEM, ENTITY)
    hub.claim_attempts(rows)
    for row in rows:
        event = row.payload["event"]
        connector.create_meter_event(event["event_name"], {"stripe_customer_id": event["stripe_customer_id"],
                                                           "value": str(event["value"])},
                                     event["identifier"], event["timestamp"], row.idempotency_key)


def test_a_crash_after_stripe_accepted_then_a_rerun_leaves_exactly_one_event(
        hub, connector, stripe_sandbox, stripe_control):
    """Input: 5 events sent, then the process dies before mark_done; a rerun within the Idempotency-Key window
    (Stripe replays), and for 5 more a rerun after the keys expired (Stripe refuses the duplicate identifier)."""
    _land(hub, _good_events(5))
    _crash_after_stripe_accepted(hub, connector)
    assert len(_in_stripe(stripe_sandbox)) == 5 and hub.outbox_counts()["pending"] == 5
    rerun = push_usage(hub, connector)
    assert (rerun.sent, rerun.adopted, rerun.failed) == (5, 0, 0)  # replayed answers: the first events
    assert len(_in_stripe(stripe_sandbox)) == 5

    _land(hub, _good_events(5, first_id=100))
    _crash_after_stripe_accepted(hub, connector)
    stripe_control.post("/_sandbox/idempotency/expire").raise_for_status()
    rerun = push_usage(hub, connector)
    assert (rerun.sent, rerun.adopted, rerun.failed, rerun.dead_lettered) == (0, 5, 0, 0)
    assert len(_in_stripe(stripe_sandbox)) == 10
    assert hub.outbox_counts() == {"pending": 0, "done": 10, "failed": 0}
    assert {hub.link_reason(ENTITY, str(event_id), SYSTEM) for event_id in range(100, 105)} == {
        "identifier_already_in_stripe"}


def test_a_row_whose_earlier_send_is_past_stripes_dedupe_window_is_held_not_resent(
        hub, connector, stripe_sandbox, stripe_control):
    """Input: 3 events sent, crash before mark_done, and the next run 25 hours later (Stripe keeps identifiers
    for at least 24 h only): held in the dead letters for a person, nothing resent, then and on later runs."""
    _land(hub, _good_events(3))
    _crash_after_stripe_accepted(hub, connector)
    posts = _posts(stripe_control)
    later = datetime.now(UTC) + timedelta(hours=25)
    counts = push_usage(hub, connector, now=later)
    assert (counts.held, counts.sent, counts.adopted) == (3, 0, 0)
    assert _posts(stripe_control) == posts
    letters = hub.dead_letters(SYSTEM, ENTITY)
    assert len(letters) == 3 and all("dedupe" in letter.reason for letter in letters)
    again = push_usage(hub, connector, now=later)
    assert (again.planned, again.held, again.sent) == (0, 0, 0) and _posts(stripe_control) == posts
    assert len(_in_stripe(stripe_sandbox)) == 3


def test_under_the_flaky_profile_every_event_lands_exactly_once(hub, connector, stripe_sandbox, stripe_control, tls):
    """Input: 60 events pushed while `flaky` (seeded) answers 5xx, drops connections after committing and
    truncates bodies; runs repeat (as the schedule would) until no row is left failed."""
    events = _good_events(60)
    _land(hub, events)
    injector = stripe_sandbox.inject_faults("flaky", FLAKY_SEED)
    runs = [push_usage(hub, connector, workers=4)]
    while runs[-1].failed and len(runs) < 5:
        runs.append(push_usage(hub, connector, workers=4))
    injected = dict(injector.injected)
    stripe_sandbox.inject_faults(None, seed=0)
    assert injected.get("drop_after_commit", 0) > 0 and injected.get("server_error", 0) > 0
    assert runs[-1].failed == 0
    assert sorted(_in_stripe(stripe_sandbox)) == sorted(event_id for event_id, _ in events)
    assert sum(run.sent + run.adopted for run in runs) == 60
    assert hub.outbox_counts() == {"pending": 0, "done": 60, "failed": 0}
    expected, reported = _usage_by_customer(stripe_sandbox, tls, events)
    assert reported == expected


def test_bad_events_are_dead_lettered_with_their_reason_and_the_rest_land(
        hub, connector, stripe_sandbox, stripe_control):
    """Input: 4 good events plus one each of: unknown customer, negative quantity, fractional quantity,
    40 days old, an hour in the future (waits), one Stripe itself refuses as too old (34 days 23 h 59 min by our
    clock, Stripe's clock 2 h ahead), and one whose identifier Stripe already holds from another sender."""
    customer = SEED.accounts[0].stripe_customer_id
    good = _good_events(4)
    bad = [_event(50, "cus_notinstripe000"), _event(51, customer, quantity=-4),
           _event(52, customer, quantity="2.5"), _event(53, customer, age=timedelta(days=40)),
           _event(54, customer, age=-timedelta(hours=1)),
           _event(55, customer, age=timedelta(days=35) - timedelta(minutes=1)), _event(56, customer)]
    _land(hub, good + bad)
    stripe_control.post("/_sandbox/clock", json={"advance_seconds": 7200}).raise_for_status()
    stripe_now = stripe_control.get("/_sandbox/clock").json()["now"]
    connector.create_meter_event("api_calls", {"stripe_customer_id": customer, "value": "1"}, "56", stripe_now,
                                 "another-sender-56")
    counts = push_usage(hub, connector)
    assert (counts.sent, counts.waiting, counts.dead_lettered, counts.failed) == (4, 1, 6, 0)
    assert sorted(_in_stripe(stripe_sandbox)) == ["1", "2", "3", "4", "56"]
    assert _in_stripe(stripe_sandbox)["56"]["payload"]["value"] == "1"  # the other sender's, untouched
    letters = {letter.external_id: letter for letter in hub.dead_letters(SYSTEM, ENTITY)}
    assert sorted(letters) == ["50", "51", "52", "53", "55", "56"]
    assert (letters["50"].field, "cus_notinstripe000" in letters["50"].reason) == ("stripe_customer_id", True)
    assert (letters["51"].field, "negative" in letters["51"].reason) == ("quantity", True)
    assert (letters["52"].field, "whole number" in letters["52"].reason) == ("quantity", True)
    assert (letters["53"].field, "35 days" in letters["53"].reason) == ("occurred_at", True)
    assert letters["55"].field == "timestamp" and "Stripe refused" in letters["55"].reason
    assert letters["56"].field == "id" and "already holds identifier 56" in letters["56"].reason

    posts = _posts(stripe_control)
    again = push_usage(hub, connector)  # refused rows are not resent; the future one still waits
    # the events refused before any call are looked at again (a fixed row would go), the others are not
    assert (again.sent, again.planned, again.waiting, again.failed, again.dead_lettered) == (0, 0, 1, 0, 4)
    assert _posts(stripe_control) == posts
    assert Counter(letter.external_id for letter in hub.dead_letters(SYSTEM, ENTITY))["50"] == 1


def test_an_event_refused_for_its_customer_goes_once_the_customer_is_known(hub, connector, stripe_sandbox):
    """Input: an event of a Stripe customer created after the hub last read Stripe's customers; then the
    customers are read again and the sync reruns."""
    newcomer = connector.create_customer({"name": "Newcomer Ltd"}, idempotency_key="usage-test-newcomer")["id"]
    _land(hub, [_event(70, newcomer)])
    first = push_usage(hub, connector)
    assert (first.sent, first.dead_lettered) == (0, 1)
    assert "70" not in _in_stripe(stripe_sandbox)
    hub.upsert_customers([customer_from_stripe(customer) for customer in connector.iter_customers()])
    second = push_usage(hub, connector)
    assert (second.planned, second.sent) == (1, 1)
    assert _in_stripe(stripe_sandbox)["70"]["payload"]["stripe_customer_id"] == newcomer
    assert hub.dead_letters(SYSTEM, ENTITY) == []  # cleared once the event could go
