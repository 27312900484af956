"""Pure mapping between canonical records and QuickBooks Online bodies."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from mappings.canonical import Customer, Invoice, InvoiceLine, MappingError
from mappings.money import Money
from mappings.quickbooks import (
    customer_to_quickbooks,
    display_name,
    invoice_from_quickbooks,
    invoice_to_quickbooks,
    linked_ids,
    payment_to_quickbooks,
)

ITEM_REF = {"value": "1", "name": "Services"}


def _invoice(currency: str, line_amounts: list[tuple[int, int]], number: str = "ABCD1234-0001") -> Invoice:
    lines = tuple(
        InvoiceLine(f"in_1:il_{index}", f"Product {index}", quantity, Money(amount, currency))
        for index, (quantity, amount) in enumerate(line_amounts, start=1)
    )
    total = sum((line.amount for line in lines[1:]), lines[0].amount)
    return Invoice("in_1", "cus_1", number, "open", total, date(2026, 1, 11), date(2026, 2, 10), lines)


def _as_quickbooks_returns(body: dict, balance: Decimal | None = None) -> dict:
    """What QuickBooks sends back for `body`: JSON numbers re-read as Decimal, totals computed."""
    text = json.dumps(body, default=str)
    returned = json.loads(text, parse_float=Decimal)
    for line in returned["Line"]:
        line["Amount"] = Decimal(line["Amount"])
    total = sum((line["Amount"] for line in returned["Line"]), Decimal(0))
    returned["Line"].append({"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    returned.update(Id="17", SyncToken="0", TotalAmt=total, Balance=total if balance is None else balance)
    return returned


@pytest.mark.parametrize(
    ("currency", "line_amounts", "expected_total"),
    [
        ("JPY", [(1, 7400), (5, 22200)], Decimal("29600")),
        ("USD", [(3, 100000), (1, 4900)], Decimal("1049.00")),
        ("KWD", [(5, 15250), (1, 30500)], Decimal("45.750")),
    ],
)
def test_invoice_round_trip_keeps_money_exact(currency, line_amounts, expected_total):
    """Input: an invoice in JPY (0 decimals), USD (2) and KWD (3), one line with a quantity that does
    not divide the amount (3 x 1000.00 USD). Through QuickBooks JSON and back, totals, line amounts,
    quantities, number and dates are unchanged and no float appears."""
    invoice = _invoice(currency, line_amounts)
    body = invoice_to_quickbooks(invoice, customer_ref="42", item_ref=ITEM_REF)
    assert body["PrivateNote"] == "stripe:in_1"
    assert body["CurrencyRef"] == {"value": currency}
    for line in body["Line"]:
        detail = line["SalesItemLineDetail"]
        assert isinstance(line["Amount"], Decimal)
        # QuickBooks' rule (6070): Amount == round(Qty * UnitPrice) in the currency's decimals.
        assert (detail["Qty"] * detail["UnitPrice"]).quantize(line["Amount"]) == line["Amount"]

    back = invoice_from_quickbooks(_as_quickbooks_returns(body), {"42": "cus_1"})
    assert back.total == invoice.total
    assert back.total.to_decimal() == expected_total
    assert back.customer_stripe_id == "cus_1"
    assert (back.number, back.issued_on, back.due_on, back.status) == (
        invoice.number, invoice.issued_on, invoice.due_on, "open")
    assert [(line.description, line.quantity, line.amount) for line in back.lines] == [
        (line.description, line.quantity, line.amount) for line in invoice.lines
    ]


def test_paid_status_comes_from_zero_balance():
    """Input: a QuickBooks invoice whose Balance is 0 and total positive -> "paid"; a zero-total one -> "open"."""
    body = invoice_to_quickbooks(_invoice("USD", [(1, 4900)]), "42", ITEM_REF)
    assert invoice_from_quickbooks(_as_quickbooks_returns(body, balance=Decimal("0.00"))).status == "paid"
    zero = _as_quickbooks_returns(invoice_to_quickbooks(_invoice("USD", [(1, 0)]), "42", ITEM_REF), Decimal(0))
    assert invoice_from_quickbooks(zero).status == "open"


def test_unknown_customer_gives_empty_customer_id():
    """Input: no mapping for the QuickBooks customer Id -> customer_stripe_id is ""."""
    body = invoice_to_quickbooks(_invoice("USD", [(1, 4900)]), "42", ITEM_REF)
    assert invoice_from_quickbooks(_as_quickbooks_returns(body), {"7": "cus_other"}).customer_stripe_id == ""


def test_invoice_without_stripe_note_is_a_mapping_error():
    """Input: an invoice a bookkeeper typed into QuickBooks (no "stripe:" PrivateNote) -> MappingError."""
    body = _as_quickbooks_returns(invoice_to_quickbooks(_invoice("USD", [(1, 4900)]), "42", ITEM_REF))
    body["PrivateNote"] = "typed by hand"
    with pytest.raises(MappingError, match="stripe:"):
        invoice_from_quickbooks(body)


def test_float_amount_is_refused():
    """Input: TotalAmt parsed as float (JSON read without parse_float=Decimal) -> MappingError."""
    body = _as_quickbooks_returns(invoice_to_quickbooks(_invoice("USD", [(1, 4900)]), "42", ITEM_REF))
    body["TotalAmt"] = 49.0
    with pytest.raises(MappingError, match="float"):
        invoice_from_quickbooks(body)


def test_doc_number_truncated_to_21_characters():
    """Input: a 30-character Stripe invoice number -> DocNumber is its first 21 characters."""
    body = invoice_to_quickbooks(_invoice("USD", [(1, 4900)], number="X" * 25 + "-0001"), "42", ITEM_REF)
    assert body["DocNumber"] == "X" * 21


def test_customer_body_carries_stripe_link_and_currency():
    """Input: a customer with a colon, a newline and a Salesforce id -> clean DisplayName, Notes with both ids."""
    customer = Customer("cus_9", "Acme: West\nDivision", "ap@acme.example", "eur", "001ABC")
    body = customer_to_quickbooks(customer)
    assert body["DisplayName"] == "Acme - West Division"
    assert body["PrimaryEmailAddr"] == {"Address": "ap@acme.example"}
    assert body["CurrencyRef"] == {"value": "EUR"}
    assert linked_ids(body["Notes"]) == {"stripe": "cus_9", "salesforce": "001ABC"}
    assert body["Notes"].splitlines()[0] == "stripe:cus_9"


def test_display_name_limit_keeps_the_disambiguating_suffix():
    """Input: a 600-character name, disambiguated -> 500 characters ending in " (cus_9)"."""
    customer = Customer("cus_9", "N" * 600)
    name = customer_to_quickbooks(customer, disambiguate=True)["DisplayName"]
    assert len(name) == 500 and name.endswith(" (cus_9)")
    assert display_name("  O'Brien \\ \"x\"  ") == "O'Brien \\ \"x\""


def test_payment_applies_total_to_the_invoice():
    """Input: a KWD invoice of 45.750 and a Stripe charge id -> Payment of 45.750 linked to QuickBooks invoice 17."""
    invoice = _invoice("KWD", [(3, 45750)])
    body = payment_to_quickbooks(invoice, "17", "42", stripe_payment_id="ch_123", paid_on=date(2026, 1, 12))
    assert body["TotalAmt"] == Decimal("45.750")
    assert body["Line"] == [{"Amount": Decimal("45.750"), "LinkedTxn": [{"TxnId": "17", "TxnType": "Invoice"}]}]
    assert (body["PrivateNote"], body["PaymentRefNum"], body["TxnDate"]) == ("stripe:ch_123", "ch_123", "2026-01-12")
