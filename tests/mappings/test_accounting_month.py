"""A random month of Stripe activity through the accounting mapping: every entry balances, and the
clearing account returns to zero when every payout is deposited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.accounting import (
    AccountRef,
    LedgerAccounts,
    account_balances,
    book_balance_transaction,
    book_payout,
    deposit_to_quickbooks,
    journal_entry_to_quickbooks,
)
from mappings.canonical import MappingError
from mappings.dates import CompanyCalendar
from mappings.model.payouts import BalanceTransaction, Payout
from mappings.money import Money

ACCOUNTS = LedgerAccounts(
    clearing=AccountRef("90", "Stripe clearing"), bank=AccountRef("35", "Checking"),
    accounts_receivable=AccountRef("84", "Accounts Receivable"), processing_fees=AccountRef("60", "Merchant fees"),
    refunds=AccountRef("79", "Refunds"), dispute_losses=AccountRef("61", "Chargebacks"),
    dispute_fees=AccountRef("62", "Chargeback fees"),
)
LA = CompanyCalendar("America/Los_Angeles")
START = datetime(2026, 3, 1, tzinfo=UTC)


def _txn(n: int, category: str, amount: int, fee: int, currency: str, offset: timedelta) -> BalanceTransaction:
    when = START + offset
    return BalanceTransaction({"stripe": f"txn_{n}"}, category, category, Money(amount, currency),
                              Money(fee, currency), Money(amount - fee, currency), when, when, "available", f"src_{n}")


@st.composite
def months(draw):
    """Charges with fees, partial refunds, disputes (with fee) and some won back, spread over 31 days."""
    currency = draw(st.sampled_from(["USD", "KWD", "JPY"]))
    txns = []
    for n in range(draw(st.integers(1, 40))):
        offset = timedelta(minutes=draw(st.integers(0, 31 * 24 * 60 - 1)))
        amount = draw(st.integers(100, 10**6))
        kind = draw(st.sampled_from(["charge", "charge", "charge", "refund", "dispute", "dispute_reversal", "fee"]))
        if kind == "charge":
            txns.append(_txn(n, "charge", amount, amount * 29 // 1000 + 30, currency, offset))
        elif kind == "refund":
            txns.append(_txn(n, "refund", -draw(st.integers(1, amount)), 0, currency, offset))
        elif kind == "dispute":
            txns.append(_txn(n, "dispute", -amount, 1500, currency, offset))
        elif kind == "dispute_reversal":
            txns.append(_txn(n, "dispute_reversal", amount, -1500, currency, offset))
        else:
            txns.append(_txn(n, "fee", -draw(st.integers(1, 5000)), 0, currency, offset))
    cut = draw(st.integers(0, len(txns)))
    return currency, txns, cut


def _payout(n: int, txns: list[BalanceTransaction], currency: str) -> Payout:
    net = sum(t.net.amount_minor for t in txns)
    when = START + timedelta(days=32)
    return Payout({"stripe": f"po_{n}"}, Money(net, currency), when, when, "paid", "ba_1", None, True, tuple(txns))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(months())
def test_month_balances_and_clearing_returns_to_zero(month):
    """Input: a random month in USD/KWD/JPY, settled by two payouts (the batch split at a random point);
    a negative batch is a payout Stripe debits from the bank, which books the other way."""
    currency, txns, cut = month
    entries = [book_balance_transaction(t, ACCOUNTS, LA) for t in txns]
    entries += [book_payout(_payout(1, txns[:cut], currency), ACCOUNTS, LA),
                book_payout(_payout(2, txns[cut:], currency), ACCOUNTS, LA)]
    assert all(entry.is_balanced() for entry in entries)
    balances = account_balances(entries)
    assert sum(balances.values()) == 0  # debits == credits over the month
    assert balances.get("90", 0) == 0  # clearing: every cent that came in went out to the bank
    assert balances.get("35", 0) == sum(t.net.amount_minor for t in txns)
    fees = sum(t.fee.amount_minor for t in txns if t.type in ("charge",))
    assert balances.get("60", 0) - sum(-t.amount.amount_minor for t in txns if t.type == "fee") == fees


def test_charge_fee_and_payout_bodies():
    """Input: a 100.00 USD charge with a 3.20 fee at 2026-03-01T02:00Z (Feb 28 in Los Angeles), paid out."""
    txn = _txn(1, "charge", 10000, 320, "USD", timedelta(hours=2))
    entry = book_balance_transaction(txn, ACCOUNTS, LA)
    assert entry.txn_date == date(2026, 2, 28)
    body = journal_entry_to_quickbooks(entry)
    assert [(line["JournalEntryLineDetail"]["PostingType"], line["JournalEntryLineDetail"]["AccountRef"]["value"],
             line["Amount"]) for line in body["Line"]] == [
        ("Debit", "90", Decimal("100.00")), ("Credit", "84", Decimal("100.00")),
        ("Debit", "60", Decimal("3.20")), ("Credit", "90", Decimal("3.20"))]
    deposit = deposit_to_quickbooks(_payout(1, [txn], "USD"), ACCOUNTS, LA)
    assert deposit["DepositToAccountRef"]["value"] == "35"
    assert deposit["Line"][0]["DepositLineDetail"]["AccountRef"]["value"] == "90"
    assert deposit["TotalAmt"] == Decimal("96.80") and deposit["PrivateNote"] == "stripe:po_1"


def test_payout_category_is_not_booked_as_activity():
    """Input: a balance transaction of category payout; expect MappingError naming reporting_category."""
    with pytest.raises(MappingError) as caught:
        book_balance_transaction(_txn(1, "payout", -100, 0, "USD", timedelta()), ACCOUNTS, LA)
    assert caught.value.field == "reporting_category"
