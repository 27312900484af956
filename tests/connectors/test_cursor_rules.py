"""Pure cursor rules: gap-or-not, (timestamp, id) ordering, vendor time parsing, ChangeFeed's committed cursor."""

from __future__ import annotations

from connectors.cursors import (
    DAY,
    STRIPE_EVENTS_RETENTION,
    Change,
    ChangeFeed,
    epoch_seconds,
    id_key,
    is_after,
    is_gap,
    latest,
)


def test_gap_decision_at_the_retention_edge():
    """Input: cursors 29 d, 29 d 23 h and 31 d behind `now` with 30-day retention and the 1 h safety margin."""
    now = 100 * DAY
    assert not is_gap(now - 29 * DAY, now, STRIPE_EVENTS_RETENTION)
    assert is_gap(now - 30 * DAY + 1800, now, STRIPE_EVENTS_RETENTION)  # inside the safety hour
    assert is_gap(now - 31 * DAY, now, STRIPE_EVENTS_RETENTION)
    assert not is_gap(now - 30 * DAY + 1800, now, STRIPE_EVENTS_RETENTION, safety_seconds=0)


def test_ids_sort_numerically_for_quickbooks_and_empty_id_first():
    """Input: QuickBooks ids 9 and 10 at one second, Stripe ids, and the empty id of a (t, "") cursor."""
    assert is_after((5, "10"), (5, "9"))
    assert not is_after((5, "9"), (5, "10"))
    assert is_after((5, "cus_b"), (5, "cus_a"))
    assert id_key("") < id_key("1") < id_key("cus_a")
    assert is_after((5, "1"), (5, "")) and not is_after((4, "999"), (5, ""))
    assert is_after((0, "1"), None)
    assert latest((5, "9"), None, (5, "10"), (4, "99")) == (5, "10") and latest(None) is None


def test_vendor_times_parse_to_epoch_seconds():
    """Input: QuickBooks (-08:00), Salesforce (+0000 with ms) and Z-suffixed times of one instant."""
    assert epoch_seconds("2026-01-11T10:00:00-08:00") == epoch_seconds("2026-01-11T18:00:00.000+0000") == \
        epoch_seconds("2026-01-11T18:00:00Z") == 1_768_154_400


def test_change_feed_commits_the_newer_of_last_record_and_vendor_floor():
    """Input: two changes at second 10 and a reader-set vendor floor of (20, ""). Expect the cursor only at the end."""
    feed = ChangeFeed((1, "a"))
    feed.feed_from([Change((10, "2"), {}), Change((10, "1"), {})])
    feed.vendor_floor = (20, "")
    seen = [change.position for change in feed]
    assert seen == [(10, "2"), (10, "1")] and feed.complete and feed.cursor == (20, "")
