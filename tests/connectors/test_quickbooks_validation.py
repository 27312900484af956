"""connectors.quickbooks_validation.problem: what keeps a malformed QuickBooks record out of the landing tables.

Pure function, plain unit tests: each input is a record as the connector hands it on (JSON numbers as Decimal),
with one thing wrong; the answer names the field and says what is wrong with it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.quickbooks_validation import problem

INVOICE = {
    "Id": "130", "SyncToken": "0", "MetaData": {"CreateTime": "2026-01-11T10:00:00-08:00",
                                                "LastUpdatedTime": "2026-01-11T10:00:00-08:00"},
    "DocNumber": "1001", "TxnDate": "2026-01-11", "CustomerRef": {"value": "58", "name": "Acme"},
    "CurrencyRef": {"value": "EUR", "name": "Euro"}, "TotalAmt": Decimal("120.00"), "Balance": Decimal("20.00"),
    "HomeTotalAmt": Decimal("130.80"), "ExchangeRate": Decimal("1.09"), "PrivateNote": "stripe:in_1",
    "Line": [{"Amount": Decimal("120.00"), "DetailType": "SalesItemLineDetail"}],
}
CUSTOMER = {"Id": "58", "SyncToken": "2", "MetaData": {"LastUpdatedTime": "2026-01-11T10:00:00-08:00"},
            "DisplayName": "Acme", "CurrencyRef": {"value": "USD"}, "Balance": Decimal("-15.00"), "Active": True}


def test_well_formed_records_pass():
    """Input: an invoice in EUR with every checked field, a customer holding a credit (negative Balance), and an
    invoice without CurrencyRef (multicurrency off), with whole-number amounts as int -> no problem."""
    assert problem("Invoice", INVOICE) is None
    assert problem("Customer", CUSTOMER) is None
    home = {key: value for key, value in INVOICE.items() if key != "CurrencyRef"}
    assert problem("Invoice", {**home, "TotalAmt": 120, "Balance": 0}) is None


@pytest.mark.parametrize(("record", "field", "reason"), [
    ({**INVOICE, "Id": None}, "Id", "missing Id"),
    ({key: value for key, value in INVOICE.items() if key != "Id"}, "Id", "missing Id"),
    ({**INVOICE, "Id": ""}, "Id", "missing Id"),
    ({**INVOICE, "Id": 130}, "Id", "Id is int, not text"),
    ({**INVOICE, "MetaData": {"CreateTime": "2026-01-11T10:00:00-08:00"}}, "MetaData.LastUpdatedTime",
     "missing MetaData.LastUpdatedTime"),
    ({**INVOICE, "MetaData": "2026-01-11"}, "MetaData.LastUpdatedTime", "missing MetaData.LastUpdatedTime"),
])
def test_a_record_without_its_identity_is_refused(record, field, reason):
    """Input: an invoice whose Id is null, absent, empty or a number, or whose MetaData lacks LastUpdatedTime
    (the cursor is built from both) -> refused on that field."""
    found = problem("Invoice", record)
    assert found is not None and (found.field, found.reason) == (field, reason)


@pytest.mark.parametrize("code", ["XTS", "usdd", "ZZZ"])
def test_unknown_currency_is_refused(code):
    """Input: an invoice whose CurrencyRef names a currency no table has (XTS is ISO's testing code) -> refused on
    CurrencyRef, the code quoted."""
    found = problem("Invoice", {**INVOICE, "CurrencyRef": {"value": code}})
    assert found is not None and found.field == "CurrencyRef"
    assert found.reason == f"unknown currency {code!r}"


def test_a_known_currency_in_lower_case_passes():
    """Input: CurrencyRef "gbp" -> accepted (codes compare without case, as mappings.quickbooks reads them)."""
    assert problem("Invoice", {**INVOICE, "CurrencyRef": {"value": "gbp"}}) is None


@pytest.mark.parametrize(("entity", "field"), [
    ("Invoice", "TotalAmt"), ("Invoice", "Balance"), ("Invoice", "HomeTotalAmt"),
    ("Payment", "TotalAmt"), ("Payment", "UnappliedAmt"),
])
def test_negative_amount_where_none_can_be_is_refused(entity, field):
    """Input: an invoice with TotalAmt, Balance or HomeTotalAmt of -0.01, a payment with TotalAmt or UnappliedAmt
    of -0.01 -> refused on that field, saying QuickBooks never makes it negative."""
    found = problem(entity, {**INVOICE, field: Decimal("-0.01")})
    assert found is not None and found.field == field
    assert found.reason == f"negative {field} (-0.01): QuickBooks never makes a {entity} {field} negative"


def test_a_customer_balance_may_be_negative():
    """Input: a customer whose Balance is -1000 (a credit) -> accepted: no sign rule for customers."""
    assert problem("Customer", {**CUSTOMER, "Balance": Decimal("-1000")}) is None


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("TotalAmt", "120.00", "TotalAmt is str, not an exact number"),
    ("Balance", 20.0, "Balance is float, not an exact number"),
    ("TotalAmt", True, "TotalAmt is bool, not an exact number"),
    ("ExchangeRate", [1], "ExchangeRate is list, not an exact number"),
    ("DocNumber", 1001, "DocNumber is int, not text"),
    ("TxnDate", {"date": "2026-01-11"}, "TxnDate is dict, not text"),
    ("PrivateNote", 7, "PrivateNote is int, not text"),
    ("Line", {"Amount": 1}, "Line is dict, not a list"),
    ("CustomerRef", "58", "CustomerRef is str, not a reference with a text value"),
    ("CustomerRef", {"value": 58}, "CustomerRef is dict, not a reference with a text value"),
    ("CurrencyRef", "EUR", "CurrencyRef is str, not a reference with a text value"),
])
def test_a_field_of_the_wrong_type_is_refused(field, value, reason):
    """Input: an invoice with one field of the wrong type: money as text, float or bool, a number where text
    belongs, a map where a list belongs, a reference that is not {"value": text} -> refused on that field."""
    found = problem("Invoice", {**INVOICE, field: value})
    assert found is not None and (found.field, found.reason) == (field, reason)


def test_not_an_object_is_refused():
    """Input: a list and a string where a record should be -> refused, no field named."""
    for record in (["Id", "130"], "130"):
        found = problem("Invoice", record)
        assert found is not None and found.field == "" and "not a JSON object" in found.reason
