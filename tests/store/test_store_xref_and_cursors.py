"""Cross-reference links and sync cursors on both backends."""

from __future__ import annotations

import pytest

from store.xref import XrefConflict


def test_link_is_idempotent_and_looks_up_both_ways(hub):
    """Input: invoice in_1 linked to QuickBooks id '130' twice, customer cus_1 to Salesforce."""
    hub.link("invoice", "in_1", "quickbooks", "130")
    hub.link("invoice", "in_1", "quickbooks", "130")
    hub.link("customer", "cus_1", "salesforce", "001000000000001AAA")
    assert hub.lookup("invoice", "in_1", "quickbooks") == "130"
    assert hub.lookup("invoice", "in_1", "salesforce") is None
    assert hub.reverse_lookup("invoice", "quickbooks", "130") == "in_1"
    assert hub.reverse_lookup("customer", "quickbooks", "130") is None
    assert hub.links("invoice", "quickbooks") == {"in_1": "130"}
    assert hub.links("customer", "salesforce") == {"cus_1": "001000000000001AAA"}


def test_link_refuses_to_repoint_either_side(hub):
    """Input: in_1 -> '130', then in_1 -> '131' (one thing, two ids) and in_2 -> '130' (two things, one id)."""
    hub.link("invoice", "in_1", "quickbooks", "130")
    with pytest.raises(XrefConflict):
        hub.link("invoice", "in_1", "quickbooks", "131")
    with pytest.raises(XrefConflict):
        hub.link("invoice", "in_2", "quickbooks", "130")
    assert hub.links("invoice", "quickbooks") == {"in_1": "130"}
    hub.unlink("invoice", "in_1", "quickbooks")
    hub.link("invoice", "in_1", "quickbooks", "131")
    assert hub.lookup("invoice", "in_1", "quickbooks") == "131"


def test_database_rejects_duplicate_links_even_without_the_hub_checks(hub):
    """Input: a raw INSERT duplicating (entity, system, external_id): the unique constraint fires."""
    import sqlalchemy as sa

    from store.schema import xref
    from store.timeutil import utcnow

    hub.link("invoice", "in_1", "quickbooks", "130")
    with pytest.raises(sa.exc.IntegrityError), hub.engine.begin() as conn:
        conn.execute(
            sa.insert(xref).values(
                entity="invoice", canonical_key="in_2", system="quickbooks", external_id="130", linked_at=utcnow()
            )
        )


def test_cursor_set_and_get(hub):
    """Input: no cursor, then (1767225600, 'in_a'), then moved to (1767225600, 'in_b') in the same second."""
    assert hub.get_cursor("stripe.invoices") is None
    hub.set_cursor("stripe.invoices", 1_767_225_600, "in_a")
    assert hub.get_cursor("stripe.invoices") == (1_767_225_600, "in_a")
    hub.set_cursor("stripe.invoices", 1_767_225_600, "in_b")
    assert hub.get_cursor("stripe.invoices") == (1_767_225_600, "in_b")
    hub.set_cursor("quickbooks.Invoice", 1_767_225_600_123, "42")  # milliseconds fit too
    assert hub.get_cursor("quickbooks.Invoice") == (1_767_225_600_123, "42")
    assert hub.get_cursor("stripe.invoices") == (1_767_225_600, "in_b")
    with pytest.raises(TypeError):
        hub.set_cursor("stripe.invoices", 1.5, "x")
