"""The QuickBooks Online sandbox, driven over HTTPS as a raw client would (no SDK in between)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandboxes.quickbooks.faults import Fault
from sandboxes.quickbooks.query import parse
from tests.sandboxes.quickbooks_clients import body, fault_code, new_customer, new_invoice

pytestmark = pytest.mark.usefixtures("qb_reset")  # every test starts from the seeded company


def test_credentials_and_bad_token(qb_sandbox, qb_http, qb_api):
    """Input: the credentials() dict, then a read with a wrong token and one with none -> 401 AUTHENTICATION 3200."""
    creds = qb_sandbox.credentials()
    assert creds["QUICKBOOKS_BASE_URL"] == qb_sandbox.base_url and creds["QUICKBOOKS_BASE_URL"].startswith("https://")
    assert creds["QUICKBOOKS_REALM_ID"] == "9341453050298765"
    for headers in ({"Authorization": "Bearer wrong"}, {}):
        response = qb_http.get(qb_api.prefix + "/customer/1", headers=headers)
        assert response.status_code == 401
        fault = body(response)
        assert fault["fault"]["type"] == "AUTHENTICATION"  # the gateway's lower-case envelope
        assert fault["fault"]["error"][0]["code"] == "3200"
        assert "time" in fault


def test_other_realm_is_refused(qb_http, qb_sandbox):
    """Input: a valid token against realm 123 -> 403 with code 3100."""
    response = qb_http.get("/v3/company/123/customer/1", headers={"Authorization": "Bearer " + qb_sandbox.access_token})
    assert response.status_code == 403 and fault_code(response) == "3100"


def test_seeded_chart_and_service_item(qb_api):
    """Input: queries for Account and Item right after reset -> the seeded chart (ids 1-3 fixed) and Services item."""
    accounts = body(qb_api.query("SELECT * FROM Account"))["QueryResponse"]["Account"]
    assert [a["Name"] for a in accounts[:3]] == ["Services", "Accounts Receivable (A/R)", "Undeposited Funds"]
    assert {a["Name"] for a in accounts[3:]} == {"Checking", "Stripe Clearing", "Merchant Fees", "Refunds Given"}
    item = body(qb_api.query("select * from Item where Name = 'Services'"))["QueryResponse"]["Item"][0]
    assert item["Type"] == "Service" and item["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    assert body(qb_api.query("SELECT * FROM Customer"))["QueryResponse"] == {}


def test_customer_create_read_and_name_rules(qb_api):
    """Input: a customer create, a read, then a duplicate name, a name with ':' and no name at all."""
    customer = new_customer(qb_api, "Zoë Müller GmbH", "EUR")
    assert (customer["Id"], customer["SyncToken"]) == ("1", "0")
    assert customer["CurrencyRef"] == {"value": "EUR", "name": "Euro"}
    assert set(customer["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    assert body(qb_api.get("/customer/1"))["Customer"]["DisplayName"] == "Zoë Müller GmbH"

    duplicate = qb_api.post("/customer", {"DisplayName": "Zoë Müller GmbH"})
    assert duplicate.status_code == 400 and fault_code(duplicate) == "6240"
    assert body(duplicate)["Fault"]["type"] == "ValidationFault"
    assert fault_code(qb_api.post("/customer", {"DisplayName": "Parent:Child"})) == "2040"
    assert fault_code(qb_api.post("/customer", {"Notes": "nameless"})) == "6080"
    assert fault_code(qb_api.post("/customer", {"DisplayName": "X", "Nickname": "y"})) == "2010"
    assert fault_code(qb_api.get("/customer/99")) == "610"


def test_invoice_totals_lines_and_foreign_currency(qb_api):
    """Input: a KWD invoice with lines 10.125 and 2.500 -> TotalAmt 12.625, SubTotal line, HomeTotalAmt in USD."""
    customer = new_customer(qb_api, "Al-Khaleej Trading W.L.L.", "KWD")
    invoice = new_invoice(qb_api, customer, ["10.125", "2.500"], PrivateNote="stripe:in_1", TxnDate="2026-01-11")
    assert invoice["TotalAmt"] == Decimal("12.625") and invoice["Balance"] == Decimal("12.625")
    assert [line["DetailType"] for line in invoice["Line"]] == [
        "SalesItemLineDetail", "SalesItemLineDetail", "SubTotalLineDetail"]
    assert invoice["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"value": "1", "name": "Services"}
    assert invoice["CustomerRef"] == {"value": customer["Id"], "name": "Al-Khaleej Trading W.L.L."}
    assert invoice["ExchangeRate"] == Decimal("3.25") and invoice["HomeTotalAmt"] == Decimal("41.03")
    assert invoice["DocNumber"] == "1001" and invoice["TxnDate"] == "2026-01-11"
    assert body(qb_api.get("/customer/" + customer["Id"]))["Customer"]["Balance"] == Decimal("12.625")


def test_invoice_validation_faults(qb_api):
    """Input: missing Line, missing CustomerRef, Amount != Qty*UnitPrice, unknown customer, wrong currency."""
    customer = new_customer(qb_api, "Acme Rockets, Inc.")
    ref = {"value": customer["Id"]}
    line = {"DetailType": "SalesItemLineDetail", "Amount": 10,
            "SalesItemLineDetail": {"Qty": 3, "UnitPrice": Decimal("3.33")}}
    assert fault_code(qb_api.post("/invoice", {"CustomerRef": ref})) == "2020"
    missing_customer = qb_api.post("/invoice", {"Line": [line]})
    assert fault_code(missing_customer) == "2020" and body(missing_customer)["Fault"]["Error"][0]["element"]
    assert fault_code(qb_api.post("/invoice", {"CustomerRef": ref, "Line": [line]})) == "6070"
    line["SalesItemLineDetail"]["UnitPrice"] = Decimal("3.3333333")
    assert qb_api.post("/invoice", {"CustomerRef": ref, "Line": [line]}).status_code == 200
    assert fault_code(qb_api.post("/invoice", {"CustomerRef": {"value": "99"}, "Line": [line]})) == "2500"
    wrong_currency = {"CustomerRef": ref, "CurrencyRef": {"value": "EUR"}, "Line": [line]}
    assert fault_code(qb_api.post("/invoice", wrong_currency)) == "6000"


def test_full_and_sparse_update_and_stale_token(qb_api):
    """Input: a sparse update of PrivateNote, a full update without PrivateNote, then a stale SyncToken."""
    invoice = new_invoice(qb_api, new_customer(qb_api, "Tokyo Ramen Works"), ["5.00"], PrivateNote="a",
                          DueDate="2026-03-01")
    sparse = body(qb_api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "b"}))
    assert sparse["Invoice"]["PrivateNote"] == "b" and sparse["Invoice"]["DueDate"] == "2026-03-01"
    assert sparse["Invoice"]["SyncToken"] == "1"
    full = {"Id": invoice["Id"], "SyncToken": "1", "CustomerRef": invoice["CustomerRef"], "Line": invoice["Line"]}
    replaced = body(qb_api.post("/invoice", full))["Invoice"]
    assert "PrivateNote" not in replaced and replaced["TotalAmt"] == Decimal("5.00") and replaced["SyncToken"] == "2"
    stale = qb_api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "1", "sparse": True, "PrivateNote": "c"})
    assert stale.status_code == 400 and fault_code(stale) == "5010"
    assert body(stale)["Fault"]["Error"][0]["Message"] == "Stale Object Error"


def test_payment_reduces_balance_and_delete_restores_it(qb_api):
    """Input: a 30.00 invoice, a 30.00 payment applied to it, then the payment deleted."""
    customer = new_customer(qb_api, "Núñez y Compañía S.A.")
    invoice = new_invoice(qb_api, customer, ["30.00"])
    payment = body(qb_api.post("/payment", {
        "CustomerRef": {"value": customer["Id"]}, "TotalAmt": Decimal("30.00"),
        "Line": [{"Amount": Decimal("30.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }))["Payment"]
    assert payment["UnappliedAmt"] == Decimal("0.00")
    paid = body(qb_api.get("/invoice/" + invoice["Id"]))["Invoice"]
    assert paid["Balance"] == Decimal("0.00") and paid["SyncToken"] == "1"
    assert paid["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    over = qb_api.post("/payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 1, "Line": [
        {"Amount": 1, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})
    assert fault_code(over) == "6000"
    deleted = qb_api.post("/payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    assert body(deleted)["Payment"] == {"status": "Deleted", "domain": "QBO", "Id": payment["Id"]}
    assert body(qb_api.get("/invoice/" + invoice["Id"]))["Invoice"]["Balance"] == Decimal("30.00")


def test_delete_invoice(qb_api):
    """Input: delete with a stale SyncToken (5010), then with the right one -> gone from reads and queries."""
    invoice = new_invoice(qb_api, new_customer(qb_api, "Crème Brûlée Café"), ["1.00"])
    assert fault_code(qb_api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "7"}, operation="delete")) == "5010"
    deleted = body(qb_api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete"))
    assert deleted["Invoice"]["status"] == "Deleted"
    assert fault_code(qb_api.get("/invoice/" + invoice["Id"])) == "610"
    assert body(qb_api.query("SELECT COUNT(*) FROM Invoice"))["QueryResponse"] == {"totalCount": 0}


def test_requestid_replays_instead_of_writing(qb_api, qb_http):
    """Input: the same create sent twice with requestid r-1 (the second with a different name)."""
    first = qb_api.post("/customer", {"DisplayName": "Björk & Dóttir ehf."}, requestid="r-1")
    again = qb_api.post("/customer", {"DisplayName": "Someone else"}, requestid="r-1")
    assert again.status_code == 200 and again.content == first.content
    assert body(qb_api.query("SELECT COUNT(*) FROM Customer"))["QueryResponse"]["totalCount"] == 1
    log = [entry for entry in qb_http.get("/_sandbox/requests").json() if entry["requestid"] == "r-1"]
    assert [entry["replayed"] for entry in log] == [False, True]
    assert log[0]["path"].endswith("/customer") and log[0]["status"] == 200


def test_query_language(qb_api):
    """Input: escaped literals, LIKE, IN, ORDERBY DESC with paging, GET ?query=, COUNT, parse errors."""
    for name in ["O'Brien \\ \"x\"", "O'Brien", "Ærøskøbing Bikes ApS", "株式会社サクラ"]:
        new_customer(qb_api, name)
    found = body(qb_api.query("SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien \\\\ \"x\"'"))
    assert [c["DisplayName"] for c in found["QueryResponse"]["Customer"]] == ["O'Brien \\ \"x\""]
    sakura = body(qb_api.query("SELECT * FROM Customer WHERE DisplayName = '株式会社サクラ'"))
    assert sakura["QueryResponse"]["Customer"]
    like = body(qb_api.query("SELECT * FROM Customer WHERE DisplayName LIKE 'o\\'brien%'"))["QueryResponse"]
    assert like["maxResults"] == 2
    within = body(qb_api.query("SELECT * FROM Customer WHERE Id IN ('1', '3')"))["QueryResponse"]["Customer"]
    assert [c["Id"] for c in within] == ["1", "3"]
    page = body(qb_api.query("SELECT * FROM Customer ORDERBY Id DESC STARTPOSITION 2 MAXRESULTS 2"))["QueryResponse"]
    assert [c["Id"] for c in page["Customer"]] == ["3", "2"] and page["startPosition"] == 2
    via_get = body(qb_api.get("/query", query="select count(*) from customer where Id > '2'"))
    assert via_get["QueryResponse"] == {"totalCount": 2}
    assert body(qb_api.query("SELECT * FROM Customer STARTPOSITION 9"))["QueryResponse"] == {}
    for broken in ["SELECT * FROM Customer WHERE DisplayName = 'open", "SELECT FROM Customer",
                   "SELECT * FROM Customer WHERE Id = '1' OR Id = '2'", "DELETE FROM Customer"]:
        response = qb_api.query(broken)
        assert response.status_code == 400 and fault_code(response) == "4000", broken
        assert body(response)["Fault"]["type"] == "ValidationFault"
    assert fault_code(qb_api.query("SELECT * FROM Customer WHERE Nickname = 'x'")) == "4001"


def test_last_updated_time_filter_follows_the_clock(qb_api, qb_http):
    """Input: one customer, the clock moved 1 hour, a second customer -> a LastUpdatedTime filter splits them."""
    first = new_customer(qb_api, "Early")
    qb_http.post("/_sandbox/clock", json={"advance_seconds": 3600}).raise_for_status()
    second = new_customer(qb_api, "Late")
    assert second["MetaData"]["CreateTime"] > first["MetaData"]["CreateTime"]
    since = first["MetaData"]["LastUpdatedTime"]
    statement = f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '{since}'"  # noqa: S608 (test literal)
    rows = body(qb_api.query(statement))["QueryResponse"]["Customer"]
    assert [c["DisplayName"] for c in rows] == ["Late"]


def test_injected_faults_and_bookkeeper_edit(qb_api, qb_http):
    """Input: one injected 429 then a normal read; then an edit through the control API (drift)."""
    invoice = new_invoice(qb_api, new_customer(qb_api, "Łódź Software sp. z o.o."), ["9.00"])
    qb_http.post("/_sandbox/faults", json={"status": 429, "times": 1}).raise_for_status()
    throttled = qb_api.get("/invoice/" + invoice["Id"])
    assert throttled.status_code == 429 and fault_code(throttled) == "3001"
    assert qb_api.get("/invoice/" + invoice["Id"]).status_code == 200
    edited = qb_http.post(f"/_sandbox/edit/invoice/{invoice['Id']}", json={"PrivateNote": "changed by hand"}).json()
    assert edited["Invoice"]["PrivateNote"] == "changed by hand" and edited["Invoice"]["SyncToken"] == "1"


def test_corrupt_plants_bad_vendor_data_on_reads_only(qb_api, qb_http):
    """Input: an invoice of 12.00, then POST /_sandbox/corrupt with TotalAmt -5, CurrencyRef XTS and Id null, on the
    sandbox clock 2 s later -> reads by Id and by query show those properties (no Id at all), LastUpdatedTime moved;
    a query still filters on the stored record (TotalAmt > 10 finds it); an unknown record is a 610 Fault."""
    invoice = new_invoice(qb_api, new_customer(qb_api, "Bad Data GmbH"), ["12.00"])
    qb_http.post("/_sandbox/clock", json={"advance_seconds": 2}).raise_for_status()
    shown = qb_http.post(f"/_sandbox/corrupt/invoice/{invoice['Id']}",
                         json={"TotalAmt": -5, "CurrencyRef": {"value": "XTS"}, "Id": None})
    assert shown.status_code == 200, shown.text
    read = body(qb_api.get("/invoice/" + invoice["Id"]))["Invoice"]
    assert (read["TotalAmt"], read["CurrencyRef"], "Id" in read) == (-5, {"value": "XTS"}, False)
    assert read["MetaData"]["LastUpdatedTime"] > invoice["MetaData"]["LastUpdatedTime"]
    [found] = body(qb_api.query("SELECT * FROM Invoice WHERE TotalAmt > '10'"))["QueryResponse"]["Invoice"]
    assert found["TotalAmt"] == -5 and "Id" not in found
    missing = qb_http.post("/_sandbox/corrupt/invoice/9999", json={"TotalAmt": 1})
    assert missing.status_code == 400 and fault_code(missing) == "610"


def test_unknown_path_answers_with_a_fault(qb_api):
    """Input: GET on an endpoint the sandbox does not serve -> a QuickBooks Fault, not an HTML 404."""
    response = qb_api.get("/invoice/1/pdf")
    assert response.status_code == 400 and fault_code(response) == "500"


@pytest.mark.parametrize(
    ("statement", "entity", "conditions"),
    [
        ("select * from Invoice where PrivateNote = 'stripe:in_\\'1\\\\'", "Invoice",
         [("PrivateNote", "=", ("stripe:in_'1\\",))]),
        ("SELECT * FROM Customer WHERE Active IN (true, false) AND Balance >= 10.5", "Customer",
         [("Active", "IN", (True, False)), ("Balance", ">=", (Decimal("10.5"),))]),
    ],
)
def test_parser_reads_escapes_and_literals(statement, entity, conditions):
    """Input: statements with escaped quotes/backslashes, booleans and numbers -> the parsed conditions."""
    query = parse(statement)
    assert query.entity == entity
    assert [(c.field, c.operator, c.values) for c in query.conditions] == conditions


def test_parser_rejects_trailing_garbage():
    """Input: a valid statement followed by an extra token -> QueryParserError (4000)."""
    with pytest.raises(Fault) as caught:
        parse("SELECT * FROM Customer MAXRESULTS 10 20")
    assert caught.value.code == "4000"
