"""Canonical customers and invoices: idempotent upserts and exact money on both backends."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from mappings.canonical import Customer, Invoice, InvoiceLine
from mappings.money import Money
from store.records import UpsertCounts
from store.schema import canonical_invoices


def _invoice(stripe_id: str, total: Money, lines: tuple[InvoiceLine, ...] = (), status: str = "open") -> Invoice:
    return Invoice(
        stripe_id=stripe_id,
        customer_stripe_id="cus_1",
        number=f"INV-{stripe_id}",
        status=status,
        total=total,
        issued_on=date(2026, 1, 2),
        due_on=date(2026, 2, 1),
        lines=lines,
    )


def test_customer_upsert_is_idempotent_and_detects_changes(hub):
    """Input: two customers upserted twice, then one with a new email."""
    people = [
        Customer("cus_1", "O'Brien \\ \"x\"", "ob@example.com", "USD", "001000000000001AAA"),
        Customer("cus_2", "株式会社サクラ", None, "JPY", None),
    ]
    assert hub.upsert_customers(people) == UpsertCounts(inserted=2)
    assert hub.upsert_customers(people) == UpsertCounts(unchanged=2)
    moved = Customer("cus_2", "株式会社サクラ", "sakura@example.jp", "JPY", None)
    assert hub.upsert_customers([people[0], moved]) == UpsertCounts(updated=1, unchanged=1)
    assert hub.customers() == [people[0], moved]


def test_invoice_upsert_is_idempotent(hub):
    """Input: three invoices upserted twice, then one flipped from open to paid."""
    batch = [_invoice(f"in_{n}", Money(1000 * n, "USD")) for n in (1, 2, 3)]
    assert hub.upsert_invoices(batch) == UpsertCounts(inserted=3)
    assert hub.upsert_invoices(batch) == UpsertCounts(unchanged=3)
    paid = _invoice("in_2", Money(2000, "USD"), status="paid")
    assert hub.upsert_invoices([paid]) == UpsertCounts(updated=1)
    assert hub.invoice("in_2") == paid
    assert hub.invoice("in_missing") is None
    assert [i.stripe_id for i in hub.invoices()] == ["in_1", "in_2", "in_3"]


def test_money_round_trips_exactly_in_three_exponents(hub):
    """Input: a KWD invoice (3 decimals, 15.250 + 0.001), a JPY invoice (0 decimals), and a USD invoice of
    3,000,000,000.01 (300,000,000,001 minor units, far above 2**31) with 2**53 + 1 on a line."""
    kwd = _invoice(
        "in_kwd",
        Money(15251, "KWD"),
        (
            InvoiceLine("in_kwd:il_1", "Platform subscription", 1, Money(15250, "KWD")),
            InvoiceLine("in_kwd:il_2", "Rounding fils", 1, Money(1, "KWD")),
        ),
    )
    jpy = _invoice("in_jpy", Money(7400, "JPY"), (InvoiceLine("in_jpy:il_1", "Seats", 5, Money(7400, "JPY")),))
    huge = _invoice(
        "in_big", Money(300_000_000_001, "USD"), (InvoiceLine("in_big:il_1", "Big", 1, Money(2**53 + 1, "USD")),)
    )
    hub.upsert_invoices([kwd, jpy, huge])
    assert hub.invoice("in_kwd") == kwd
    assert str(hub.invoice("in_kwd").total) == "15.251 KWD"
    assert hub.invoice("in_jpy") == jpy
    assert str(hub.invoice("in_jpy").total) == "7400 JPY"
    stored = hub.invoice("in_big")
    assert stored == huge
    assert stored.lines[0].amount.amount_minor == 2**53 + 1
    with hub.engine.connect() as conn:
        column = conn.execute(
            sa.select(canonical_invoices.c.total_minor).where(canonical_invoices.c.stripe_id == "in_big")
        ).scalar_one()
    assert column == 300_000_000_001 and isinstance(column, int)
    assert hub.upsert_invoices([kwd, jpy, huge]) == UpsertCounts(unchanged=3)
