"""Landed records that have no outbox row yet (store.outbox.unplanned_raw), on both backends."""

from __future__ import annotations


def test_only_live_records_without_an_outbox_row_of_that_kind_come_back(hub):
    """Input: usage events 1-5 landed, 5 then deleted at the source; event 2 has a stripe/meter_event row (done
    later), event 3 one of another kind (quickbooks/meter_event) and event 4 one of stripe/invoice."""
    hub.land_raw("internal", "usage_events", [(str(n), {"id": n, "quantity": n}) for n in range(1, 6)])
    hub.mark_deleted("internal", "usage_events", ["5"])
    row = hub.enqueue("stripe", "meter_event", "create", "2", "meter_event-create-2", {"event": {}})
    hub.enqueue("quickbooks", "meter_event", "create", "3", "qb-3", {})
    hub.enqueue("stripe", "invoice", "create", "4", "invoice-4", {})
    unplanned = hub.unplanned_raw("internal", "usage_events", "stripe", "meter_event")
    assert unplanned == [("1", {"id": 1, "quantity": 1}), ("3", {"id": 3, "quantity": 3}),
                         ("4", {"id": 4, "quantity": 4})]
    hub.mark_done(row.id, "2")
    assert [external_id for external_id, _ in hub.unplanned_raw("internal", "usage_events", "stripe",
                                                                "meter_event")] == ["1", "3", "4"]
    assert hub.unplanned_raw("internal", "customers", "stripe", "meter_event") == []
