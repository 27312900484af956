"""QuickBooks bodies use the XSD's element names (vendor-specs/quickbooks/*.xsd), refunds carry their own
re_ id, and payments carry Stripe's FX rate; plus the generated field table."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mappings.accounting import (
    AccountRef,
    LedgerAccounts,
    book_balance_transaction,
    deposit_to_quickbooks,
    journal_entry_to_quickbooks,
)
from mappings.canonical import MappingError
from mappings.dates import UTC_CALENDAR
from mappings.field_table import all_mappings, field_table_markdown
from mappings.fx import FxRate
from mappings.model.catalog import Price, Product
from mappings.model.party import Address, CustomerAccount, TaxId
from mappings.model.payments import Payment, Refund
from mappings.model.payouts import BalanceTransaction, Payout
from mappings.money import Money
from mappings.quickbooks_entities import (
    credit_memo_body,
    customer_account_to_quickbooks,
    item_to_quickbooks,
    payment_body,
    quickbooks_exchange_rate,
    refund_id_from_quickbooks,
    refund_receipt_body,
)

XSD_DIR = Path("/work/shared/vendor-specs/quickbooks")
if not XSD_DIR.exists():
    XSD_DIR = Path(__file__).resolve().parents[3] / "shared/vendor-specs/quickbooks"
WHEN = datetime(2026, 3, 1, tzinfo=UTC)
ACCOUNTS = LedgerAccounts(*(AccountRef(str(n), f"A{n}") for n in range(1, 8)))


@pytest.fixture(scope="module")
def xsd_names() -> set[str]:
    text = "".join(path.read_text() for path in XSD_DIR.glob("*.xsd"))
    # Elements, plus the attributes that become plain JSON keys (README of the vendor specs).
    return set(re.findall(r'<xs:element name="(\w+)"', text)) | {"value", "name", "type"}


def _keys(body) -> set[str]:
    if isinstance(body, dict):
        return set(body) | {k for v in body.values() for k in _keys(v)}
    if isinstance(body, list):
        return {k for v in body for k in _keys(v)}
    return set()


def test_every_key_we_write_is_an_xsd_element(xsd_names):
    """Input: a Customer, Item, Payment (with FX), RefundReceipt, CreditMemo, JournalEntry and Deposit body."""
    account = CustomerAccount({"stripe": "cus_1", "salesforce": "001A"}, "Acme", "ap@acme.example", "+1 555",
                              "USD", Address("1 Main", "Suite 2", "Austin", "TX", "78701", "US"),
                              (TaxId("us_ein", "12-3456789"),))
    payment = Payment({"stripe": "ch_1"}, Money(10000, "EUR"), WHEN, "succeeded")
    refund = Refund({"stripe": "re_1"}, Money(2500, "USD"), "ch_1", WHEN, "succeeded")
    txn = BalanceTransaction({"stripe": "txn_1"}, "charge", "charge", Money(100, "USD"), Money(3, "USD"),
                             Money(97, "USD"), WHEN, WHEN, "available")
    payout = Payout({"stripe": "po_1"}, Money(97, "USD"), WHEN, WHEN, "paid")
    bodies = [
        customer_account_to_quickbooks(account),
        item_to_quickbooks(Product({"stripe": "prod_1"}, "Seats", description="Per seat"),
                           Price({"stripe": "price_1"}, "prod_1", "USD", unit_amount=Money(4900, "USD")),
                           {"value": "1"}),
        payment_body(payment, "58", "17", date(2026, 3, 1), {"value": "90"}, Decimal("1.0843")),
        refund_receipt_body(refund, "58", {"value": "1"}, date(2026, 3, 2), {"value": "90"}),
        credit_memo_body(refund, "58", {"value": "1"}, date(2026, 3, 2)),
        journal_entry_to_quickbooks(book_balance_transaction(txn, ACCOUNTS, UTC_CALENDAR)),
        deposit_to_quickbooks(payout, ACCOUNTS, UTC_CALENDAR),
    ]
    unknown = {key for body in bodies for key in _keys(body)} - xsd_names
    assert unknown == set()


def test_refund_receipt_is_keyed_by_the_refund_not_the_charge():
    """Input: a partial refund re_2 of 25.00 on charge ch_1; the receipt carries re_2 and finds it again."""
    refund = Refund({"stripe": "re_2"}, Money(2500, "USD"), "ch_1", WHEN, "succeeded")
    body = refund_receipt_body(refund, "58", {"value": "1"}, date(2026, 3, 2), {"value": "90"})
    assert (body["PrivateNote"], body["PaymentRefNum"], body["TotalAmt"]) == ("stripe:re_2", "re_2", Decimal("25.00"))
    assert refund_id_from_quickbooks(body) == "re_2"
    with pytest.raises(MappingError):
        refund_id_from_quickbooks({"Id": "5", "PrivateNote": "stripe:ch_1"})


def test_exchange_rate_only_from_stripe_into_the_home_currency():
    """Input: Stripe's EUR->USD rate for a USD company; then a EUR->GBP rate for that company."""
    assert quickbooks_exchange_rate(FxRate("EUR", "USD", Decimal("1.0843"), "txn_1"), "USD") == Decimal("1.0843")
    assert quickbooks_exchange_rate(None, "USD") is None
    with pytest.raises(MappingError):
        quickbooks_exchange_rate(FxRate("EUR", "GBP", Decimal("0.85"), "txn_1"), "USD")


def test_field_table_lists_every_table_and_field():
    """Input: every declarative table; expect one markdown row per field, systems in a fixed order."""
    text = field_table_markdown()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| system")]
    assert len(rows) == sum(len(table.fields) for table in all_mappings())
    assert "| stripe | customer | customer (v2) | `ids.salesforce` | `metadata.salesforce_account_id` |" in text
    assert "| salesforce | price | PricebookEntry (v2) | `unit_amount` | `UnitPrice` |" in text
    systems = [row.split("|")[1].strip() for row in rows]
    assert systems == sorted(systems, key=["stripe", "quickbooks", "salesforce", "internal"].index)
    assert field_table_markdown() == text  # deterministic, so a README check is stable
