"""Raw landing: counts, versions and exact payload round trips on both backends."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from store.hashing import content_hash
from store.records import LandCounts
from store.schema import raw_records


def test_first_landing_inserts_and_relanding_is_unchanged(hub):
    """Input: two Stripe customers landed twice with identical payloads."""
    records = [("cus_1", {"id": "cus_1", "name": "O'Brien \\ \"x\""}), ("cus_2", {"id": "cus_2", "name": "Zoë"})]
    assert hub.land_raw("stripe", "customer", records) == LandCounts(inserted=2, updated=0, unchanged=0)
    assert hub.land_raw("stripe", "customer", records) == LandCounts(inserted=0, updated=0, unchanged=2)
    assert hub.raw_version("stripe", "customer", "cus_1") == 1
    assert hub.raw_payloads("stripe", "customer") == records


def test_changed_payload_bumps_version_and_key_order_does_not(hub):
    """Input: cus_1 re-landed with keys reordered (same content), then with a changed email."""
    hub.land_raw("stripe", "customer", [("cus_1", {"id": "cus_1", "email": "a@x.io"})])
    reordered = hub.land_raw("stripe", "customer", [("cus_1", {"email": "a@x.io", "id": "cus_1"})])
    assert reordered == LandCounts(unchanged=1)
    changed = hub.land_raw("stripe", "customer", [("cus_1", {"id": "cus_1", "email": "b@x.io"})])
    assert changed == LandCounts(updated=1)
    assert hub.raw_version("stripe", "customer", "cus_1") == 2
    assert hub.raw_payloads("stripe", "customer") == [("cus_1", {"id": "cus_1", "email": "b@x.io"})]
    with hub.engine.connect() as conn:
        row = conn.execute(sa.select(raw_records).where(raw_records.c.external_id == "cus_1")).one()
    assert row.payload_hash == content_hash({"id": "cus_1", "email": "b@x.io"})
    assert row.landed_at >= row.first_seen_at


def test_streams_are_separate_and_duplicates_in_a_batch_count_once(hub):
    """Input: the same id '1' in QuickBooks Invoice and Customer, and id '7' twice in one batch."""
    counts = hub.land_raw(
        "quickbooks", "Invoice", [("1", {"Id": "1"}), ("7", {"Id": "7", "v": 1}), ("7", {"Id": "7", "v": 2})]
    )
    assert counts == LandCounts(inserted=2)
    assert hub.land_raw("quickbooks", "Customer", [("1", {"Id": "1"})]) == LandCounts(inserted=1)
    assert hub.raw_payloads("quickbooks", "Invoice") == [("1", {"Id": "1"}), ("7", {"Id": "7", "v": 2})]


def test_decimal_amounts_are_stored_exactly_as_strings(hub):
    """Input: a QuickBooks invoice parsed with parse_float=Decimal (TotalAmt 1234567890123.105)."""
    payload = {"Id": "9", "TotalAmt": Decimal("1234567890123.105"), "Line": [{"Amount": Decimal("0.10")}]}
    hub.land_raw("quickbooks", "Invoice", [("9", payload)])
    [(external_id, stored)] = hub.raw_payloads("quickbooks", "Invoice")
    assert stored == {"Id": "9", "TotalAmt": "1234567890123.105", "Line": [{"Amount": "0.10"}]}
    assert Decimal(stored["TotalAmt"]) == payload["TotalAmt"]
    # Same Decimal again is unchanged; 0.1 vs 0.10 is a change in what the vendor sent.
    assert hub.land_raw("quickbooks", "Invoice", [("9", payload)]) == LandCounts(unchanged=1)


def test_large_batch_crosses_the_chunk_size(hub):
    """Input: 1,203 records in one call (more than two 500-id chunks), then 3 of them changed."""
    records = [(f"ch_{n:05d}", {"n": n}) for n in range(1203)]
    assert hub.land_raw("stripe", "charge", records) == LandCounts(inserted=1203)
    changed = [(f"ch_{n:05d}", {"n": n, "refunded": True}) for n in (0, 600, 1202)]
    assert hub.land_raw("stripe", "charge", records[1:600] + changed) == LandCounts(updated=3, unchanged=599)


def test_complete_read_marks_absent_records_deleted_and_revives_returning_ones(hub):
    """Input: a full read of 3 invoices, then a full read lacking '2', then '2' back again."""
    hub.land_raw("quickbooks", "invoice", [("1", {"Id": "1"}), ("2", {"Id": "2"}), ("3", {"Id": "3"})], complete=True)
    second = hub.land_raw("quickbooks", "invoice", [("1", {"Id": "1"}), ("3", {"Id": "3"})], complete=True)
    assert second == LandCounts(unchanged=2, deleted=1)
    assert [key for key, _ in hub.raw_payloads("quickbooks", "invoice")] == ["1", "3"]
    partial = hub.land_raw("quickbooks", "invoice", [("1", {"Id": "1"})])  # not complete: deletes nothing
    assert partial == LandCounts(unchanged=1)
    back = hub.land_raw("quickbooks", "invoice", [("1", {"Id": "1"}), ("2", {"Id": "2"}), ("3", {"Id": "3"})],
                        complete=True)
    assert back == LandCounts(unchanged=2, updated=1)
    assert [key for key, _ in hub.raw_payloads("quickbooks", "invoice")] == ["1", "2", "3"]
