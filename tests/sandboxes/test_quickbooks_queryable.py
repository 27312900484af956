"""The QuickBooks sandbox filters and sorts only on what QuickBooks marks filterable / sortable.

Real QuickBooks answers a WHERE on any other property with 400, ValidationFault 4001 "Invalid query",
"QueryValidationError: property 'X' is not queryable" (ruckus/quickbooks-ruby#403, where the refused property
is a Vendor's PrimaryEmailAddr; intuit/QuickBooks-V3-DotNET-SDK#163, AcctNum on Customer, Vendor and Account).
Driven over HTTPS as a raw client would; the lists are in sandboxes/quickbooks/queryable.py.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.sandboxes.quickbooks_clients import Api, body


def expect_not_queryable(response: httpx.Response, prop: str) -> None:
    """The real 4001 answer, key for key: no "element" in a query fault, a "time" beside it."""
    assert response.status_code == 400, response.text
    answer = body(response)
    assert set(answer) == {"Fault", "time"}
    assert answer["Fault"] == {
        "Error": [{"Message": "Invalid query", "Detail": f"QueryValidationError: property '{prop}' is not queryable",
                   "code": "4001"}],
        "type": "ValidationFault",
    }


def rows(response: httpx.Response, entity: str) -> list[dict]:
    assert response.status_code == 200, response.text
    return body(response)["QueryResponse"].get(entity, [])


def customer(qb_api: Api, name: str, **extra) -> dict:
    response = qb_api.post("/customer", {"DisplayName": name, **extra})
    assert response.status_code == 200, response.text
    return body(response)["Customer"]


def invoice(qb_api: Api, customer_id: str, amount: str, **extra) -> dict:
    line = {"DetailType": "SalesItemLineDetail", "Amount": Decimal(amount),
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": Decimal(amount)}}
    response = qb_api.post("/invoice", {"CustomerRef": {"value": customer_id}, "Line": [line], **extra})
    assert response.status_code == 200, response.text
    return body(response)["Invoice"]


def payment(qb_api: Api, customer_id: str, invoice_id: str, amount: str, **extra) -> dict:
    response = qb_api.post("/payment", {
        "CustomerRef": {"value": customer_id}, "TotalAmt": Decimal(amount),
        "Line": [{"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}], **extra})
    assert response.status_code == 200, response.text
    return body(response)["Payment"]


def test_private_note_is_refused_on_invoices_and_payments(qb_api):
    """Input: WHERE PrivateNote = / IN on Invoice and Payment, by POST and by GET ?query=, and a COUNT(*) with
    it -> the real 4001 body each time, though an invoice with that very note exists."""
    buyer = customer(qb_api, "Note Holder Ltd")
    written = invoice(qb_api, buyer["Id"], "10.00", PrivateNote="stripe:in_note0001", DocNumber="N-1")
    payment(qb_api, buyer["Id"], written["Id"], "10.00", PrivateNote="stripe:in_note0001")
    for statement in ["SELECT * FROM Invoice WHERE PrivateNote = 'stripe:in_note0001'",
                      "SELECT * FROM Invoice WHERE PrivateNote IN ('stripe:in_note0001', 'stripe:in_x')",
                      "SELECT COUNT(*) FROM Invoice WHERE PrivateNote = 'stripe:in_note0001'",
                      "SELECT * FROM Invoice WHERE DocNumber = 'N-1' AND PrivateNote = 'stripe:in_note0001'",
                      "SELECT * FROM Payment WHERE PrivateNote = 'stripe:in_note0001'"]:
        expect_not_queryable(qb_api.query(statement), "PrivateNote")
    expect_not_queryable(qb_api.query_by_get("select * from Payment where PrivateNote LIKE 'stripe:%'"), "PrivateNote")


def test_line_fields_and_undocumented_properties_are_refused(qb_api):
    """Input: a Line field of Invoice (Line.Amount, Line.SalesItemLineDetail.ItemRef), a Ref's name, Customer's
    CurrencyRef and AcctNum, Account's AcctNum (refused per DotNET SDK #163), PrimaryEmailAddr on Item (a name
    list without it) and Deposit's TotalAmt -> 4001 naming the property."""
    buyer = customer(qb_api, "Line Checker GmbH")
    invoice(qb_api, buyer["Id"], "12.00")
    for statement, prop in [
        ("SELECT * FROM Invoice WHERE Line.Amount > '1'", "Line.Amount"),
        ("SELECT * FROM Invoice WHERE Line.SalesItemLineDetail.ItemRef = '1'", "Line.SalesItemLineDetail.ItemRef"),
        ("SELECT * FROM Invoice WHERE CustomerRef.name = 'Line Checker GmbH'", "CustomerRef.name"),
        ("SELECT * FROM Customer WHERE CurrencyRef = 'USD'", "CurrencyRef"),
        ("SELECT * FROM Customer WHERE AcctNum = '1001'", "AcctNum"),
        ("SELECT * FROM Account WHERE AcctNum = '1001'", "AcctNum"),
        ("SELECT * FROM Item WHERE PrimaryEmailAddr = 'x@example.com'", "PrimaryEmailAddr"),
        ("SELECT * FROM Deposit WHERE TotalAmt > '0'", "TotalAmt"),
        ("SELECT * FROM JournalEntry WHERE DocNumber = 'JE-1'", "DocNumber"),
    ]:
        expect_not_queryable(qb_api.query(statement), prop)


def test_documented_filters_are_accepted_and_select_the_right_rows(qb_api):
    """Input: two customers with an invoice each (DocNumbers A-1 and B-2, amounts 10.00 and 25.00) and a payment
    of the first -> DocNumber IN, TxnDate, CustomerRef, DueDate, TotalAmt, Balance, Customer DisplayName and
    PrimaryEmailAddr, Payment CustomerRef, and Active on the name lists each return the rows they match."""
    first = customer(qb_api, "Alpha Filters Ltd", PrimaryEmailAddr={"Address": "ap@alpha.example"})
    second = customer(qb_api, "Beta Filters Ltd")
    one = invoice(qb_api, first["Id"], "10.00", DocNumber="A-1", TxnDate="2026-01-05", DueDate="2026-02-04")
    two = invoice(qb_api, second["Id"], "25.00", DocNumber="B-2", TxnDate="2026-01-20", DueDate="2026-02-19")
    paid = payment(qb_api, first["Id"], one["Id"], "10.00")

    def ids(statement: str, entity: str = "Invoice") -> list[str]:
        return [row["Id"] for row in rows(qb_api.query(statement), entity)]

    assert ids("SELECT * FROM Invoice WHERE DocNumber IN ('A-1', 'B-2', 'C-3')") == [one["Id"], two["Id"]]
    assert ids("SELECT * FROM Invoice WHERE DocNumber = 'B-2'") == [two["Id"]]
    assert ids("SELECT * FROM Invoice WHERE TxnDate >= '2026-01-10'") == [two["Id"]]
    assert ids(f"SELECT * FROM Invoice WHERE CustomerRef = '{first['Id']}'") == [one["Id"]]  # noqa: S608
    assert ids("SELECT * FROM Invoice WHERE DueDate < '2026-02-10'") == [one["Id"]]
    assert ids("SELECT * FROM Invoice WHERE TotalAmt > '20'") == [two["Id"]]
    assert ids("SELECT * FROM Invoice WHERE Balance = '0'") == [one["Id"]]  # paid in full
    assert ids("SELECT * FROM Customer WHERE DisplayName = 'Beta Filters Ltd'", "Customer") == [second["Id"]]
    assert ids("SELECT * FROM Customer WHERE PrimaryEmailAddr = 'ap@alpha.example'", "Customer") == [first["Id"]]
    both = f"SELECT * FROM Payment WHERE CustomerRef IN ('{first['Id']}', '{second['Id']}')"  # noqa: S608
    assert ids(both, "Payment") == [paid["Id"]]
    for entity in ("Customer", "Item", "Account", "TaxCode"):
        assert rows(qb_api.query(f"SELECT * FROM {entity} WHERE Active = true"), entity), entity  # noqa: S608


@pytest.mark.parametrize("entity", ["Customer", "Item", "Account", "Invoice", "Payment", "CreditMemo",
                                    "RefundReceipt", "Deposit", "JournalEntry", "TaxCode"])
def test_id_and_metadata_times_filter_and_sort_on_every_entity(qb_api, entity):
    """Input: for each of the ten entities, WHERE Id IN / MetaData.CreateTime / MetaData.LastUpdatedTime with
    ORDERBY MetaData.LastUpdatedTime, Id (Concord's incremental read) -> 200, not a Fault."""
    statement = (f"SELECT * FROM {entity} WHERE Id IN ('1', '2') AND MetaData.CreateTime >= '2000-01-01T00:00:00Z' "  # noqa: S608
                 "AND MetaData.LastUpdatedTime >= '2000-01-01T00:00:00Z' ORDERBY MetaData.LastUpdatedTime ASC, Id ASC")
    response = qb_api.query(statement)
    assert response.status_code == 200, response.text
    assert "Fault" not in body(response)


def test_orderby_needs_a_sortable_property(qb_api):
    """Input: ORDERBY on PrivateNote, on CustomerRef (filterable but not sortable) and on a Line field of Invoice,
    ORDERBY DisplayName on Customer (no source confirms it sortable) -> 4001; ORDERBY DocNumber DESC and TxnDate
    on Invoice -> 200 in that order."""
    buyer = customer(qb_api, "Sorter Ltd")
    early = invoice(qb_api, buyer["Id"], "5.00", DocNumber="S-1", TxnDate="2026-03-01")
    late = invoice(qb_api, buyer["Id"], "6.00", DocNumber="S-2", TxnDate="2026-02-01")
    for statement, prop in [("SELECT * FROM Invoice ORDERBY PrivateNote", "PrivateNote"),
                            ("SELECT * FROM Invoice ORDERBY CustomerRef DESC", "CustomerRef"),
                            ("SELECT * FROM Invoice ORDER BY Id, Line.Amount", "Line.Amount"),
                            ("SELECT * FROM Customer ORDERBY DisplayName", "DisplayName")]:
        expect_not_queryable(qb_api.query(statement), prop)
    by_number = rows(qb_api.query("SELECT * FROM Invoice ORDERBY DocNumber DESC"), "Invoice")
    assert [row["Id"] for row in by_number] == [late["Id"], early["Id"]]
    by_date = rows(qb_api.query(f"SELECT * FROM Invoice WHERE CustomerRef = '{buyer['Id']}' ORDERBY TxnDate"),  # noqa: S608
                   "Invoice")
    assert [row["Id"] for row in by_date] == [late["Id"], early["Id"]]


def test_batch_query_items_get_the_same_check(qb_api):
    """Input: one batch holding a Query on PrivateNote, a Query on DocNumber and an ORDERBY on a non-sortable
    property -> 200; the bad items carry the 4001 Fault, the good one its QueryResponse."""
    buyer = customer(qb_api, "Batch Query Ltd")
    written = invoice(qb_api, buyer["Id"], "7.00", DocNumber="Q-1", PrivateNote="stripe:in_batchq01")
    response = qb_api.post("/batch", {"BatchItemRequest": [
        {"bId": "note", "Query": "SELECT * FROM Invoice WHERE PrivateNote = 'stripe:in_batchq01'"},
        {"bId": "number", "Query": "SELECT * FROM Invoice WHERE DocNumber IN ('Q-1')"},
        {"bId": "sort", "Query": "SELECT * FROM Payment ORDERBY PaymentRefNum"},
    ]})
    assert response.status_code == 200, response.text
    answers = {item["bId"]: item for item in body(response)["BatchItemResponse"]}
    detail = "QueryValidationError: property '{}' is not queryable"
    assert answers["note"]["Fault"] == {"Error": [{"Message": "Invalid query", "Detail": detail.format("PrivateNote"),
                                                   "code": "4001"}], "type": "ValidationFault"}
    assert answers["sort"]["Fault"]["Error"][0]["Detail"] == detail.format("PaymentRefNum")
    assert [row["Id"] for row in answers["number"]["QueryResponse"]["Invoice"]] == [written["Id"]]
