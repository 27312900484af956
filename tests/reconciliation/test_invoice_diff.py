"""The invoice diff engine: Stripe (master) against QuickBooks (copy), pure functions."""

from __future__ import annotations

import random
from datetime import date

import pytest

from mappings.canonical import Invoice
from mappings.money import Money
from reconciliation.invoices import (
    AMOUNT,
    CHECKS,
    CURRENCY,
    EXTRA_IN_QUICKBOOKS,
    KINDS,
    MISSING_IN_QUICKBOOKS,
    STATUS,
    DuplicateInvoiceKey,
    diff_invoices,
    for_check,
    summarize,
)


def invoice(stripe_id: str, total_minor: int, currency: str = "USD", status: str = "open") -> Invoice:
    return Invoice(
        stripe_id=stripe_id,
        customer_stripe_id="cus_1",
        number=None,
        status=status,
        total=Money(total_minor, currency),
        issued_on=date(2024, 5, 1),
    )


def test_equal_invoices_in_zero_and_three_decimal_currencies_give_no_mismatch():
    """Input: identical USD, JPY (0 decimals) and KWD (3 decimals) invoices on both sides -> nothing."""
    stripe = [invoice("in_usd", 68600), invoice("in_jpy", 68600, "JPY", "paid"), invoice("in_kwd", 1234, "KWD")]
    qbo = [invoice("in_kwd", 1234, "KWD"), invoice("in_jpy", 68600, "JPY", "paid"), invoice("in_usd", 68600)]
    assert diff_invoices(stripe, qbo) == []


def test_missing_in_quickbooks_carries_ids_and_the_stripe_total():
    """Input: a Stripe invoice with no QuickBooks copy -> one missing_in_quickbooks with the Stripe total."""
    [mismatch] = diff_invoices([invoice("in_1", 68600)], [])
    assert mismatch.kind == MISSING_IN_QUICKBOOKS == "missing_in_quickbooks"
    assert mismatch.entity == "invoice"
    assert mismatch.key == "in_1"
    assert mismatch.ids == {"stripe": "in_1", "quickbooks": None}
    assert mismatch.expected == "686.00 USD"
    assert mismatch.actual is None


def test_extra_in_quickbooks_for_linked_and_unlinked_copies():
    """Input: a QuickBooks invoice linked to an unknown Stripe id, and one with no link (qbo:77)."""
    qbo = [invoice("in_gone", 500), invoice("qbo:77", 900, "EUR")]
    mismatches = diff_invoices([], qbo, copy_ids={"in_gone": "12"})
    assert [(m.kind, m.key) for m in mismatches] == [(EXTRA_IN_QUICKBOOKS, "in_gone"), (EXTRA_IN_QUICKBOOKS, "qbo:77")]
    assert mismatches[0].ids == {"stripe": "in_gone", "quickbooks": "12"}
    assert mismatches[1].ids == {"stripe": None, "quickbooks": "77"}
    assert mismatches[1].actual == "9.00 EUR"


def test_amount_mismatch_shows_human_amounts_and_quickbooks_id():
    """Input: Stripe 686.00 USD vs QuickBooks 668.00 USD for in_1 (QuickBooks Id 145)."""
    [mismatch] = diff_invoices([invoice("in_1", 68600)], [invoice("in_1", 66800)], copy_ids={"in_1": "145"})
    assert (mismatch.kind, mismatch.field) == (AMOUNT, "total")
    assert (mismatch.expected, mismatch.actual) == ("686.00 USD", "668.00 USD")
    assert mismatch.ids == {"stripe": "in_1", "quickbooks": "145"}


def test_amount_mismatch_in_three_decimal_currency():
    """Input: KWD 1.234 vs 1.235 (one fils apart) -> amount mismatch with three decimals shown."""
    [mismatch] = diff_invoices([invoice("in_k", 1234, "KWD")], [invoice("in_k", 1235, "KWD")])
    assert (mismatch.expected, mismatch.actual) == ("1.234 KWD", "1.235 KWD")


def test_currency_mismatch_is_reported_instead_of_a_meaningless_amount_comparison():
    """Input: same Stripe id, 1000 USD-cents vs 1000 JPY -> currency mismatch only."""
    [mismatch] = diff_invoices([invoice("in_1", 1000, "USD")], [invoice("in_1", 1000, "JPY")])
    assert (mismatch.kind, mismatch.field, mismatch.expected, mismatch.actual) == (CURRENCY, "currency", "USD", "JPY")


def test_status_mismatch_alongside_amount_mismatch():
    """Input: Stripe paid 10.00 vs QuickBooks open 9.00 -> one amount and one status mismatch."""
    mismatches = diff_invoices([invoice("in_1", 1000, status="paid")], [invoice("in_1", 900, status="open")])
    assert [(m.kind, m.field, m.expected, m.actual) for m in mismatches] == [
        (AMOUNT, "total", "10.00 USD", "9.00 USD"),
        (STATUS, "status", "paid", "open"),
    ]


def test_stripe_drafts_are_not_compared():
    """Input: a Stripe draft absent from QuickBooks, and a draft whose copy differs -> no drift, not extra."""
    stripe = [invoice("in_d1", 100, status="draft"), invoice("in_d2", 100, status="draft")]
    qbo = [invoice("in_d2", 999, status="open")]
    assert diff_invoices(stripe, qbo) == []


def test_order_is_by_kind_then_key_whatever_the_input_order():
    """Input: the same drift of every kind, shuffled five ways -> one identical, sorted list."""
    stripe = [invoice("in_b", 100), invoice("in_a", 100), invoice("in_c", 100, status="paid"), invoice("in_m", 1)]
    stripe += [invoice("in_cur", 5, "EUR")]
    qbo = [invoice("in_b", 200), invoice("in_a", 300), invoice("in_c", 100), invoice("in_x", 1)]
    qbo += [invoice("in_cur", 5, "GBP")]
    results = []
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(stripe)
        rng.shuffle(qbo)
        results.append(diff_invoices(stripe, qbo))
    assert all(result == results[0] for result in results)
    assert [(m.kind, m.key) for m in results[0]] == [
        (AMOUNT, "in_a"),
        (AMOUNT, "in_b"),
        (CURRENCY, "in_cur"),
        (EXTRA_IN_QUICKBOOKS, "in_x"),
        (MISSING_IN_QUICKBOOKS, "in_m"),
        (STATUS, "in_c"),
    ]


def test_duplicate_key_on_one_side_is_refused():
    """Input: two QuickBooks invoices both keyed in_1 -> DuplicateInvoiceKey naming the key."""
    with pytest.raises(DuplicateInvoiceKey, match="in_1"):
        diff_invoices([invoice("in_1", 1)], [invoice("in_1", 1), invoice("in_1", 2)])


def test_large_input_is_diffed_set_based():
    """Input: 50,000 invoices per side with every 1000th amount off -> 50 mismatches, quickly."""
    stripe = [invoice(f"in_{i:06d}", 1000 + i) for i in range(50_000)]
    qbo = [invoice(f"in_{i:06d}", 1000 + i + (1 if i % 1000 == 0 else 0)) for i in range(50_000)]
    mismatches = diff_invoices(stripe, qbo)
    assert len(mismatches) == 50
    assert {m.kind for m in mismatches} == {AMOUNT}


def test_summarize_counts_every_kind_including_zero():
    """Input: two amount mismatches and one missing -> counts per kind, zeros for the rest."""
    mismatches = diff_invoices([invoice("a", 1), invoice("b", 1), invoice("c", 1)], [invoice("a", 2), invoice("b", 3)])
    assert summarize(mismatches) == {
        MISSING_IN_QUICKBOOKS: 1,
        EXTRA_IN_QUICKBOOKS: 0,
        AMOUNT: 2,
        CURRENCY: 0,
        STATUS: 0,
    }
    assert summarize([]) == dict.fromkeys(KINDS, 0)


def test_checks_cover_every_kind_exactly_once_and_filter():
    """Input: the CHECKS table, and one amount plus one status mismatch filtered per check."""
    assert CHECKS["amount_matches"] == ["amount"]
    assert CHECKS["currency_matches"] == ["currency"]
    assert CHECKS["status_matches"] == ["status"]
    assert CHECKS["missing_in_quickbooks"] == ["missing_in_quickbooks"]
    assert CHECKS["extra_in_quickbooks"] == ["extra_in_quickbooks"]
    covered = [kind for kinds in CHECKS.values() for kind in kinds]
    assert sorted(covered) == sorted(KINDS)
    mismatches = diff_invoices([invoice("a", 1, status="paid")], [invoice("a", 2)])
    assert [m.kind for m in for_check("amount_matches", mismatches)] == [AMOUNT]
    assert [m.kind for m in for_check("status_matches", mismatches)] == [STATUS]
    assert for_check("missing_in_quickbooks", mismatches) == []
