"""QuickBooksConnector.iter_changed: (LastUpdatedTime, Id) cursor paging and CDC tombstones, against the sandbox."""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import Decimal

import httpx
import pytest

from connectors.cursors import CursorGap, latest
from connectors.quickbooks import QuickBooksConnector
from connectors.quickbooks_changes import position

_names = itertools.count(1)


def _tick(qb_control: httpx.Client) -> None:
    """Finish the current sandbox second, so records written in it are readable incrementally."""
    qb_control.post("/_sandbox/clock", json={"advance_seconds": 1}).raise_for_status()


def _customers(qb: QuickBooksConnector, count: int) -> list[dict]:
    created = []
    for _ in range(count):
        number = next(_names)
        created.append(qb.create_customer({"DisplayName": f"Tie {number}"}, f"tie-{number}"))
    return created


def _customers_with_a_tie(qb: QuickBooksConnector, at_least: int) -> list[dict]:
    """Customers created back to back until one second holds `at_least` of them (seconds are the resolution)."""
    created = _customers(qb, at_least * 2)
    while max(Counter(row["MetaData"]["LastUpdatedTime"] for row in created).values()) < at_least:
        created += _customers(qb, at_least)
    return created


def _invoice(qb: QuickBooksConnector, customer: dict, note: str) -> dict:
    line = {"Amount": Decimal("10.00"), "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": qb.service_item_ref(), "Qty": 1, "UnitPrice": Decimal("10.00")}}
    return qb.create_invoice({"CustomerRef": {"value": customer["Id"]}, "Line": [line], "PrivateNote": note},
                             "inv-" + note)


def test_tie_group_longer_than_a_page_is_read_once_and_resumes_exactly(qb, qb_control):
    """Input: customers created back to back so at least 7 share one second, read with pages of 3. Expect every
    customer exactly once; then, from a cursor inside the tie group, exactly the customers after it."""
    created = _customers_with_a_tie(qb, at_least=7)
    _tick(qb_control)

    changes = list(qb.iter_changed("Customer", None, page_size=3))
    ids = [change.record["Id"] for change in changes]
    assert sorted(ids, key=int) == sorted((row["Id"] for row in created), key=int)
    assert len(ids) == len(set(ids))

    ordered = sorted((position(row) for row in created), key=lambda at: (at[0], int(at[1])))
    tie_second = Counter(at[0] for at in ordered).most_common(1)[0][0]
    cursor = [at for at in ordered if at[0] == tie_second][2]  # the third record of the tie group
    resumed = [change.position for change in qb.iter_changed("Customer", cursor, page_size=3)]
    assert sorted(resumed, key=lambda at: (at[0], int(at[1]))) == ordered[ordered.index(cursor) + 1:]


def test_record_updated_while_paging_is_not_skipped(qb, qb_control):
    """Input: 9 customers; after the first page of 3 is read, one of them is edited (it moves to the end of the
    order). Expect all 9 read this run, and the edit read by the next run from the committed cursor."""
    created = _customers(qb, 9)
    _tick(qb_control)
    changes = iter(qb.iter_changed("Customer", None, page_size=3))
    first_page = [next(changes) for _ in range(3)]
    qb_control.post(f"/_sandbox/edit/customer/{first_page[0].record['Id']}", json={"CompanyName": "Edited Co"}
                    ).raise_for_status()
    rest = list(changes)
    seen = [change.record["Id"] for change in first_page + rest]
    assert sorted(seen, key=int) == sorted((row["Id"] for row in created), key=int)

    cursor = latest(*(change.position for change in first_page + rest))
    _tick(qb_control)
    again = list(qb.iter_changed("Customer", cursor, page_size=3))
    assert [(change.record["Id"], change.record.get("CompanyName")) for change in again] == [
        (first_page[0].record["Id"], "Edited Co")]


def test_updates_and_deletes_after_the_cursor_are_caught(qb, qb_control):
    """Input: 3 invoices synced; then one is updated (sparse), one deleted, one untouched. Expect exactly the
    update and a tombstone {"Id", "status": "Deleted"}; a rerun from the new cursor finds nothing."""
    customer = _customers(qb, 1)[0]
    invoices = [_invoice(qb, customer, f"n{next(_names)}") for _ in range(3)]
    _tick(qb_control)
    cursor = latest(*(change.position for change in qb.iter_changed("Invoice", None)))
    assert cursor is not None

    _tick(qb_control)
    kept, deleted = invoices[0], invoices[1]
    qb.update_invoice({"Id": kept["Id"], "SyncToken": kept["SyncToken"], "sparse": True, "PrivateNote": "changed"},
                      "upd-" + kept["Id"])
    qb.delete_invoice(deleted["Id"], deleted["SyncToken"], "del-" + deleted["Id"])
    _tick(qb_control)

    changes = list(qb.iter_changed("Invoice", cursor))
    assert [(c.record["Id"], c.record.get("PrivateNote"), c.deleted) for c in changes if not c.deleted] == [
        (kept["Id"], "changed", False)]
    tombstones = [c.record for c in changes if c.deleted]
    assert [(t["Id"], t["status"]) for t in tombstones] == [(deleted["Id"], "Deleted")]

    newer = latest(cursor, *(change.position for change in changes))
    assert list(qb.iter_changed("Invoice", newer)) == []


def test_cursor_older_than_cdc_retention_is_a_gap(qb, qb_control):
    """Input: a cursor 31 days behind the sandbox's clock. Expect CursorGap (no records yielded); a cursor 29
    days behind reads normally."""
    now = qb_control.get("/_sandbox/clock").json()["now"]
    with pytest.raises(CursorGap, match="30 days"):
        list(qb.iter_changed("Invoice", (now - 31 * 86_400, "0")))
    assert list(qb.iter_changed("Invoice", (now - 29 * 86_400, "0"))) == []


def test_a_row_without_id_or_time_is_handed_on_once_and_never_moves_the_cursor(qb, qb_control):
    """Input: 5 customers; a second later two of them corrupted through POST /_sandbox/corrupt (what a faulty
    QuickBooks would send: one read without its Id, one whose LastUpdatedTime is the text "yesterday") and a fifth
    customer created, so the corrupt rows share the newest second with a good one and the keyset step to that
    second reads them again; a full read and one from before the first write, in pages of 2. Expect the 4 good
    customers once each, each corrupt row once (for the validation to dead-letter) at the read's start position,
    no crash, and the cursor at least at the newest good record."""
    created = _customers(qb, 5)
    _tick(qb_control)
    qb_control.post(f"/_sandbox/corrupt/customer/{created[1]['Id']}", json={"Id": None}).raise_for_status()
    bad_time = {"CreateTime": created[3]["MetaData"]["CreateTime"], "LastUpdatedTime": "yesterday"}
    qb_control.post(f"/_sandbox/corrupt/customer/{created[3]['Id']}", json={"MetaData": bad_time}
                    ).raise_for_status()
    created += _customers(qb, 1)
    _tick(qb_control)
    good = [created[0]["Id"], created[2]["Id"], created[4]["Id"], created[5]["Id"]]
    for since in (None, (position(created[0])[0] - 1, "")):
        feed = qb.iter_changed("Customer", since, page_size=2, include_deletes=False)
        changes = list(feed)
        read = [change.record.get("Id") for change in changes]
        assert sorted(filter(None, read), key=int) == sorted(good + [created[3]["Id"]], key=int), since
        assert read.count(None) == 1 and read.count(created[3]["Id"]) == 1
        newest_good = max(position(change.record) for change in changes if change.record.get("Id") in good)
        assert feed.cursor is not None and feed.cursor[0] >= newest_good[0]
        assert all(change.position == (since or (0, "")) for change in changes  # placed at the start: no move
                   if change.record.get("Id") in (None, created[3]["Id"]))
