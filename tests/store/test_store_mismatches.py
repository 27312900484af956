"""Mismatch replace semantics: new, still open (keeping alerted_at), resolved."""

from __future__ import annotations

import pytest

from mappings.canonical import Mismatch


def _amount(key: str, actual: str) -> Mismatch:
    return Mismatch("invoice", "amount", key, {"stripe": key, "quickbooks": "130"}, "total", "12.34", actual)


def _missing(key: str) -> Mismatch:
    return Mismatch("invoice", "missing_in_quickbooks", key, {"stripe": key, "quickbooks": None})


def test_replace_reports_new_still_open_and_resolved(hub):
    """Input: run 1 finds A (amount) and B (missing); A is alerted; run 2 finds A with a new actual and C."""
    a1, b, c = _amount("in_a", "12.30"), _missing("in_b"), _missing("in_c")
    first = hub.replace_mismatches("invoice", "run-1", [a1, b])
    assert first.new == (a1, b) and first.still_open == () and first.resolved == ()
    [row_a] = [r for r in hub.unalerted_mismatches() if r.mismatch.key == "in_a"]
    hub.mark_alerted([row_a.id])
    alerted_at = hub.open_mismatches()[0].alerted_at
    assert alerted_at is not None and alerted_at.tzinfo is not None

    a2 = _amount("in_a", "12.00")
    second = hub.replace_mismatches("invoice", "run-2", [a2, c])
    assert second.new == (c,) and second.still_open == (a2,) and second.resolved == (b,)
    open_rows = {r.mismatch.key: r for r in hub.open_mismatches("invoice")}
    assert set(open_rows) == {"in_a", "in_c"}
    kept = open_rows["in_a"]
    assert kept.id == row_a.id and kept.alerted_at == alerted_at and kept.run_id == "run-2"
    assert kept.mismatch == a2 and kept.detected_at == row_a.detected_at
    assert [r.mismatch.key for r in hub.unalerted_mismatches()] == ["in_c"]


def test_replace_only_touches_its_entity_and_empty_found_resolves_all(hub):
    """Input: one customer and one invoice mismatch; then an empty invoice reconcile."""
    customer = Mismatch("customer", "missing_in_quickbooks", "cus_1", {"stripe": "cus_1", "quickbooks": None})
    hub.replace_mismatches("customer", "run-1", [customer])
    hub.replace_mismatches("invoice", "run-1", [_missing("in_b")])
    delta = hub.replace_mismatches("invoice", "run-2", [])
    assert delta.resolved == (_missing("in_b"),)
    assert [r.mismatch for r in hub.open_mismatches()] == [customer]
    assert hub.open_mismatches("invoice") == []
    # The same drift coming back after being resolved is new again (and will be alerted again).
    assert hub.replace_mismatches("invoice", "run-3", [_missing("in_b")]).new == (_missing("in_b"),)


def test_same_identity_twice_in_one_run_is_one_mismatch_and_wrong_entity_is_refused(hub):
    """Input: in_a reported twice in one run (last values win); then a customer mismatch passed as invoice."""
    delta = hub.replace_mismatches("invoice", "run-1", [_amount("in_a", "1.00"), _amount("in_a", "2.00")])
    assert delta.new == (_amount("in_a", "2.00"),)
    assert [r.mismatch.actual for r in hub.open_mismatches()] == ["2.00"]
    with pytest.raises(ValueError):
        hub.replace_mismatches("invoice", "run-2", [Mismatch("customer", "status", "cus_1", {})])
    assert len(hub.open_mismatches()) == 1


def test_mark_alerted_keeps_the_first_alert_time(hub):
    """Input: one mismatch alerted twice; then mark_alerted([]) (nothing to do)."""
    hub.replace_mismatches("invoice", "run-1", [_missing("in_b")])
    [row] = hub.unalerted_mismatches()
    hub.mark_alerted([row.id])
    first = hub.open_mismatches()[0].alerted_at
    hub.mark_alerted([row.id])
    hub.mark_alerted([])
    assert hub.open_mismatches()[0].alerted_at == first
    assert hub.unalerted_mismatches() == []
