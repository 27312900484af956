"""Many cross-reference links in one go (store.xref.link_many, used by Hub.finish_writes), on both backends."""

from __future__ import annotations

import pytest

from store.xref import XrefConflict, link_many


def test_link_many_links_all_skips_identical_ones_and_keeps_reasons(hub):
    """Input: 1,200 meter event links (more than one IN chunk of 500) over an existing identical one, plus one
    invoice link in the same call; then the same call again."""
    hub.link("meter_event", "7", "stripe", "7", "sent_by_concord")
    links = [("meter_event", str(n), "stripe", str(n), "sent_by_concord") for n in range(1200)]
    links.append(("invoice", "in_1", "quickbooks", "130", "created_by_concord"))
    for _ in range(2):
        with hub.transaction() as conn:
            link_many(conn, links)
    assert hub.links("meter_event", "stripe") == {str(n): str(n) for n in range(1200)}
    assert hub.lookup("invoice", "in_1", "quickbooks") == "130"
    assert hub.link_reason("invoice", "in_1", "quickbooks") == "created_by_concord"


@pytest.mark.parametrize("conflict", [
    ("invoice", "in_1", "quickbooks", "131", None),  # a linked key re-pointed
    ("invoice", "in_2", "quickbooks", "130", None),  # a vendor id claimed by a second key
])
def test_link_many_refuses_what_link_refuses_and_stores_none_of_the_batch(hub, conflict):
    """Input: in_1 -> '130' stored; a batch of a good link (in_3 -> '140') and one conflicting link."""
    hub.link("invoice", "in_1", "quickbooks", "130")
    with pytest.raises(XrefConflict), hub.transaction() as conn:
        link_many(conn, [("invoice", "in_3", "quickbooks", "140", None), conflict])
    assert hub.links("invoice", "quickbooks") == {"in_1": "130"}


def test_link_many_refuses_a_conflict_inside_one_batch(hub):
    """Input: one batch linking in_1 -> '130' and in_2 -> '130'."""
    with pytest.raises(XrefConflict), hub.transaction() as conn:
        link_many(conn, [("invoice", "in_1", "quickbooks", "130", None),
                         ("invoice", "in_2", "quickbooks", "130", None)])
    assert hub.links("invoice", "quickbooks") == {}
