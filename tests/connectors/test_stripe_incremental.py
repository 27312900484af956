"""StripeConnector change log (Events API + re-read) and windowed first sync, against the Stripe sandbox."""

from __future__ import annotations

import pytest

from connectors.cursors import CursorGap
from connectors.stripe import StripeConnector
from connectors.stripe_changes import windows


@pytest.fixture
def stripe_connector(stripe_sandbox, tls, stripe_control) -> StripeConnector:
    stripe_control.post("/_sandbox/reset").raise_for_status()
    creds = stripe_sandbox.credentials()
    return StripeConnector(creds["STRIPE_API_KEY"], creds["STRIPE_API_BASE"], str(tls.bundle_path))


def test_windows_are_contiguous_half_open_and_cover_the_range():
    """Input: [100, 110) in 3 windows, [5, 7) in 8, an empty range. Expect edges shared, nothing lost."""
    assert windows(100, 110, 3) == [(100, 104), (104, 107), (107, 110)]
    assert windows(5, 7, 8) == [(5, 6), (6, 7)]
    assert windows(10, 10, 4) == []


def test_first_sync_over_concurrent_windows_has_no_duplicates_or_gaps(stripe_connector):
    """Input: 12 seeded + 20 new customers, read over 7 `created` windows by 4 threads, the window edges falling
    on the customers' own created seconds. Expect exactly the customers iter_customers lists."""
    for number in range(20):
        stripe_connector.create_customer({"name": f"Window {number}"}, f"window-{number}")
    everyone = list(stripe_connector.iter_customers())
    created = sorted(customer["created"] for customer in everyone)
    windowed = stripe_connector.list_customers_in_windows(created[0], created[-1] + 1, window_count=7, workers=4,
                                                          page_size=3)
    assert sorted(customer["id"] for customer in windowed) == sorted(customer["id"] for customer in everyone)


def test_windows_that_hold_everything_are_cut_again_so_idle_threads_share_the_work(stripe_connector, stripe_sandbox,
                                                                                   stripe_control):
    """Input: the seeded customers created within days, read from 2010 (Stripe's epoch) over 4 windows with 4
    threads and pages of 2: nearly everything sits in the last window. Expect more distinct `created` windows
    requested than the 4 first cut (the busy window was split), and every customer exactly once."""
    stripe_control.post("/_sandbox/rate_limit", json={"per_second": None}).raise_for_status()
    try:
        everyone = sorted(customer["id"] for customer in stripe_connector.iter_customers())
        before = len(stripe_control.get("/_sandbox/requests").json())
        windowed = stripe_connector.list_customers_in_windows(window_count=4, workers=4, page_size=2)
        requested = stripe_control.get("/_sandbox/requests").json()[before:]
    finally:
        stripe_control.post("/_sandbox/rate_limit", json={"per_second": 25}).raise_for_status()
    ids = [customer["id"] for customer in windowed]
    assert sorted(ids) == everyone and len(ids) == len(set(ids))
    lists = [entry["query"] for entry in requested if entry["path"] == "/v1/customers"]
    starts = {query.get("created[gte]") for query in lists}
    assert len(starts) > 4, lists


def test_the_windowed_stream_yields_every_customer_once_and_can_stop_early(stripe_connector, stripe_control):
    """Input: 12 seeded + 30 new customers streamed over 5 windows by 3 threads in pages of 4; then a consumer
    that stops after 5 records. Expect every customer exactly once, and an early stop that returns cleanly."""
    from itertools import islice

    from connectors.stripe_entities import BY_NAME

    stripe_control.post("/_sandbox/rate_limit", json={"per_second": None}).raise_for_status()
    try:
        for number in range(30):
            stripe_connector.create_customer({"name": f"Stream {number}"}, f"stream-{number}")
        everyone = sorted(customer["id"] for customer in stripe_connector.iter_customers())
        streamed = [c["id"] for c in stripe_connector.iter_in_windows(BY_NAME["customer"], window_count=5, workers=3,
                                                                     page_size=4)]
        first_five = list(islice(stripe_connector.iter_in_windows(BY_NAME["customer"], page_size=4), 5))
    finally:
        stripe_control.post("/_sandbox/rate_limit", json={"per_second": 25}).raise_for_status()
    assert sorted(streamed) == everyone and len(streamed) == len(set(streamed)) == 42
    assert len(first_five) == 5


def test_events_after_the_cursor_are_re_read_and_deletes_become_tombstones(stripe_connector):
    """Input: a cursor after the current events; then one customer created, one renamed twice, a coupon deleted
    (the sandbox deletes coupons, not customers). Expect
    changed_objects to give each object once, at its latest state (re-read), and a tombstone for the delete."""
    stripe_connector.create_customer({"name": "Before"}, "before")
    first = stripe_connector.iter_events(None)
    list(first)
    assert first.complete and first.cursor is not None

    client = stripe_connector._client
    deleted = client.v1.coupons.create({"percent_off": 10, "duration": "once"}).id
    first = stripe_connector.iter_events(first.cursor)
    list(first)
    renamed = list(stripe_connector.iter_customers())[0]["id"]
    created = stripe_connector.create_customer({"name": "Brand New"}, "brand-new")["id"]
    client.v1.customers.update(renamed, {"name": "First rename"})
    client.v1.customers.update(renamed, {"name": "Second rename"})
    client.v1.coupons.delete(deleted)

    feed = stripe_connector.iter_events(first.cursor)
    objects = {change.record["id"]: change for change in stripe_connector.changed_objects(feed)}
    assert feed.complete and feed.cursor >= first.cursor
    assert {created, renamed, deleted} <= set(objects)
    assert objects[renamed].record["name"] == "Second rename" and not objects[renamed].deleted
    assert objects[deleted].deleted and objects[deleted].record == {"id": deleted, "object": "coupon",
                                                                    "deleted": True}
    assert objects[created].record["name"] == "Brand New"


def test_event_cursor_older_than_thirty_days_is_a_gap(stripe_connector, stripe_control):
    """Input: a cursor taken now, then the sandbox clock moved 31 days and a customer created (so Stripe's own
    newest event shows its clock). Expect CursorGap; a fresh cursor reads normally."""
    stripe_connector.create_customer({"name": "Earlier"}, "earlier")
    first = stripe_connector.iter_events(None)
    list(first)
    stripe_control.post("/_sandbox/clock", json={"advance_seconds": 31 * 86_400}).raise_for_status()
    stripe_connector.create_customer({"name": "Later"}, "later")
    with pytest.raises(CursorGap, match="30 days"):
        list(stripe_connector.iter_events(first.cursor))
    fresh = stripe_connector.iter_events(None)
    assert [change.record["type"] for change in fresh][-1] == "customer.created"


def test_every_landed_shape_holds_all_embedded_lines_whether_listed_or_re_read(stripe_connector):
    """Input: a draft invoice with 13 invoice items (Stripe embeds 10 lines and `has_more`). Expect retrieve and
    the windowed full read to give the same invoice with all 13 lines and `has_more` false."""
    from connectors.stripe_entities import BY_NAME

    client = stripe_connector._client
    customer = list(stripe_connector.iter_customers())[0]
    draft = client.v1.invoices.create({"customer": customer["id"], "auto_advance": False})
    for number in range(13):
        client.v1.invoice_items.create({"customer": customer["id"], "invoice": draft.id, "amount": 100 + number,
                                        "currency": draft.currency})
    invoice = BY_NAME["invoice"]
    retrieved = stripe_connector.retrieve(invoice, draft.id)
    assert len(retrieved["lines"]["data"]) == 13 and retrieved["lines"]["has_more"] is False
    listed = {row["id"]: row for row in stripe_connector.list_in_windows(invoice, end=2_000_000_000)}
    assert listed[draft.id] == retrieved
    assert stripe_connector.retrieve(invoice, "in_doesnotexist000000000000") is None


def test_a_quiet_account_keeps_its_cursor_within_retention(stripe_connector):
    """Input: a cursor from the newest event, then no new events. Expect the committed cursor to follow our clock
    (less the margin), not stay at the old event, so a quiet month is not mistaken for a gap."""
    import time

    from connectors.stripe_changes import QUIET_MARGIN

    probe = stripe_connector.probe_events()
    assert probe.floor[0] >= int(time.time()) - QUIET_MARGIN - 5
    feed = stripe_connector.iter_events((probe.floor[0] - 10 * 86_400, ""), probe=probe)
    list(feed)
    assert feed.complete and feed.cursor[0] >= probe.floor[0]


def test_a_charge_with_more_than_ten_refunds_is_landed_with_all_of_them(stripe_connector):
    """Input: a seeded USD charge refunded in 11 parts of 10 cents (Stripe embeds 10 refunds and `has_more`).
    Expect retrieve and the full read to hold all 11 (and the seeded ones) with `has_more` false."""
    from connectors.stripe_entities import BY_NAME

    charge_entity = BY_NAME["charge"]
    charge = next(row for row in stripe_connector.list_in_windows(charge_entity, end=2_000_000_000)
                  if row["currency"] == "usd" and row["amount"] - row["amount_refunded"] >= 110)
    before = len(charge["refunds"]["data"])
    refunds = [stripe_connector._client.v1.refunds.create({"charge": charge["id"], "amount": 10}).id
               for _ in range(11)]
    retrieved = stripe_connector.retrieve(charge_entity, charge["id"])
    assert retrieved["refunds"]["has_more"] is False and len(retrieved["refunds"]["data"]) == before + 11
    assert set(refunds) <= {refund["id"] for refund in retrieved["refunds"]["data"]}
    listed = {row["id"]: row for row in stripe_connector.list_in_windows(charge_entity, end=2_000_000_000)}
    assert listed[charge["id"]] == retrieved
