"""What Stripe's meter events accept, decided before any call (pure functions, no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.meter_event_rules import MeterEvent, Rejection, Wait, meter_event_for, unix_seconds

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KNOWN = {"cus_known"}


def _row(**changes) -> dict:
    row = {"id": 7, "stripe_customer_id": "cus_known", "event_name": "api_calls", "quantity": 12,
           "occurred_at": (NOW - timedelta(days=1)).replace(tzinfo=None).isoformat()}
    return {**row, **changes}


def test_a_good_row_becomes_the_meter_event_with_the_internal_id_as_identifier():
    """Input: a landed row as the raw store keeps it (naive ISO timestamp = UTC, integer quantity)."""
    event = meter_event_for(_row(), KNOWN, NOW)
    assert event == MeterEvent("7", "api_calls", "cus_known", 12, unix_seconds(NOW - timedelta(days=1)))
    assert event.stripe_payload() == {"stripe_customer_id": "cus_known", "value": "12"}
    assert MeterEvent.from_payload(event.as_payload()) == event


def test_whole_decimals_pass_and_fractions_negatives_and_floats_are_refused_with_their_field():
    """Input: quantities "40.000" (NUMERIC column), "2.5", -3 and a float 2.0."""
    assert meter_event_for(_row(quantity="40.000"), KNOWN, NOW).value == 40
    fraction = meter_event_for(_row(quantity="2.5"), KNOWN, NOW)
    assert isinstance(fraction, Rejection) and fraction.field == "quantity" and "whole number" in fraction.reason
    negative = meter_event_for(_row(quantity=-3), KNOWN, NOW)
    assert isinstance(negative, Rejection) and negative.field == "quantity" and "negative" in negative.reason
    floating = meter_event_for(_row(quantity=2.0), KNOWN, NOW)
    assert isinstance(floating, Rejection) and "float" in floating.reason


def test_a_customer_stripe_does_not_have_is_refused():
    """Input: a row whose stripe_customer_id is not among the landed Stripe customers; one with none at all."""
    unknown = meter_event_for(_row(stripe_customer_id="cus_nobody"), KNOWN, NOW)
    assert isinstance(unknown, Rejection) and unknown.field == "stripe_customer_id" and "cus_nobody" in unknown.reason
    missing = meter_event_for(_row(stripe_customer_id=None), KNOWN, NOW)
    assert isinstance(missing, Rejection) and missing.field == "stripe_customer_id"


def test_stripe_timestamp_window_35_days_back_and_5_minutes_ahead():
    """Input: occurred_at exactly 35 days back, one second older, 5 minutes ahead, and one second past that."""
    def at(moment: datetime):
        return meter_event_for(_row(occurred_at=moment.replace(tzinfo=None).isoformat()), KNOWN, NOW)

    assert isinstance(at(NOW - timedelta(days=35)), MeterEvent)
    too_old = at(NOW - timedelta(days=35, seconds=1))
    assert isinstance(too_old, Rejection) and too_old.field == "occurred_at" and "35 days" in too_old.reason
    assert isinstance(at(NOW + timedelta(minutes=5)), MeterEvent)
    assert isinstance(at(NOW + timedelta(minutes=5, seconds=1)), Wait)


def test_names_longer_than_stripe_takes_are_refused():
    """Input: an event_name of 101 characters and an empty one."""
    for name in ("x" * 101, ""):
        refused = meter_event_for(_row(event_name=name), KNOWN, NOW)
        assert isinstance(refused, Rejection) and refused.field == "event_name"
