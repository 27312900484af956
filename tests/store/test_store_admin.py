"""Operator repair: forget one record's sync so it is written again."""

from __future__ import annotations

from store.admin import Forgotten, forget_sync


def test_forget_sync_drops_only_that_records_link_and_outbox_rows(hub):
    """Input: in_1 and in_2 both synced to QuickBooks (link + done outbox row), in_1 also linked in
    Salesforce; forget in_1 in QuickBooks. in_2 and the Salesforce link stay; re-enqueue makes a fresh row."""
    for key, qb_id in (("in_1", "130"), ("in_2", "131")):
        row = hub.enqueue("quickbooks", "invoice", "create", key, f"qb:{key}", {"k": key})
        hub.mark_done(row.id, qb_id)
        hub.link("invoice", key, "quickbooks", qb_id)
    hub.link("invoice", "in_1", "salesforce", "a0X000000000001")

    assert forget_sync(hub, "invoice", "in_1", "quickbooks") == Forgotten(links=1, outbox_rows=1)
    assert hub.links("invoice", "quickbooks") == {"in_2": "131"}
    assert hub.lookup("invoice", "in_1", "salesforce") == "a0X000000000001"
    assert hub.outbox_row("qb:in_1") is None and hub.outbox_row("qb:in_2").status == "done"
    again = hub.enqueue("quickbooks", "invoice", "create", "in_1", "qb:in_1", {"k": "in_1"})
    assert again.status == "pending" and again.attempts == 0
    assert forget_sync(hub, "invoice", "in_9", "quickbooks") == Forgotten(links=0, outbox_rows=0)
