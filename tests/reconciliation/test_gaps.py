"""Change-log gaps flagged by sources are settled by the reconciliation that compares their entity."""

from __future__ import annotations

from reconciliation.gaps import settle_gaps
from store.hub import Hub


def test_a_reconciliation_settles_the_gaps_of_what_it_compared_and_leaves_the_rest_open(db_url):
    """Input: gaps flagged on Stripe invoices, QuickBooks invoices and Stripe customers; a reconciliation that
    compares invoices only -> the two invoice flags are cleared, the customer flag stays open and is reported."""
    hub = Hub(db_url)
    hub.migrate()
    for system, entity in (("stripe", "invoice"), ("quickbooks", "invoice"), ("stripe", "customer")):
        hub.flag_for_reconciliation(system, entity, "cursor_gap")
    settled, still_open = settle_gaps(hub, {("stripe", "invoice"), ("quickbooks", "invoice")})
    assert sorted((gap.system, gap.entity) for gap in settled) == [("quickbooks", "invoice"), ("stripe", "invoice")]
    assert [(gap.system, gap.entity, gap.reason) for gap in still_open] == [("stripe", "customer", "cursor_gap")]
    assert "stripe customer (cursor_gap since 20" in still_open[0].describe()
    assert [(system, entity) for system, entity, _, _ in hub.reconciliation_flags()] == [("stripe", "customer")]
    again, _ = settle_gaps(hub, {("stripe", "invoice")})
    assert again == []  # settled once: a later run has nothing left to settle
