"""QuickBooks sandbox CDC and batch endpoints, driven through python-quickbooks (cdc.change_data_capture,
batch.batch_create) and raw HTTP where the SDK hides the shape."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from requests_oauthlib import OAuth2Session

from tests.sandboxes.quickbooks_clients import Api, body, fault_code, new_customer, new_invoice


@pytest.fixture
def sdk(qb_api, qb_sandbox, tls) -> QuickBooks:
    client = QuickBooks(company_id=qb_sandbox.realm_id, minorversion=75, use_decimal=True)
    client.api_url_v3 = qb_sandbox.base_url + "/v3"
    session = OAuth2Session(token={"access_token": qb_sandbox.access_token, "token_type": "Bearer"})
    session.verify = str(tls.bundle_path)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment would replace the sandbox CA
    client.session = session
    return client


def cdc(qb_api: Api, entities: str, since: str) -> httpx.Response:
    return qb_api.get("/cdc", entities=entities, changedSince=since)


def test_cdc_returns_changes_and_deletions_since_a_time(qb_api, qb_http, sdk):
    """Input: customer A and invoice I1 created, clock +1 h, customer B created and I1 deleted; CDC since the
    midpoint for Customer,Invoice -> B only and I1 as status Deleted; the SDK parses the same response."""
    first = new_customer(qb_api, "Early Customer")
    invoice = new_invoice(qb_api, first, ["12.00"])
    qb_http.post("/_sandbox/clock", json={"advance_seconds": 3600}).raise_for_status()
    since = (datetime.fromisoformat(invoice["MetaData"]["LastUpdatedTime"]) + timedelta(minutes=30)).isoformat()
    second = new_customer(qb_api, "Late Customer")
    qb_api.post("/invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="delete")
    response = body(cdc(qb_api, "Customer,Invoice", since))
    customers, invoices = response["CDCResponse"][0]["QueryResponse"]
    assert [row["Id"] for row in customers["Customer"]] == [second["Id"]]
    assert invoices["Invoice"] == [{"domain": "QBO", "status": "Deleted", "Id": invoice["Id"],
                                    "MetaData": {"LastUpdatedTime": invoices["Invoice"][0]["MetaData"][
                                        "LastUpdatedTime"]}}]
    parsed = change_data_capture([Customer, Invoice], since, qb=sdk)
    assert [c.DisplayName for c in parsed.Customer] == ["Late Customer"]
    assert parsed.Invoice[0].Id == invoice["Id"]


def test_cdc_limits(qb_api, qb_http):
    """Input: CDC without changedSince, with a date 31 days back, with an unknown entity, and over 1000 changed
    customers -> 2020, the 'older than fixed days' fault, 2170, and exactly 1000 objects returned."""
    now = datetime.fromisoformat(new_customer(qb_api, "Now Ltd")["MetaData"]["CreateTime"])
    assert fault_code(qb_api.get("/cdc", entities="Customer")) == "2020"
    too_old = cdc(qb_api, "Customer", (now - timedelta(days=31)).isoformat())
    assert too_old.status_code == 400 and "older than fixed days" in body(too_old)["Fault"]["Error"][0]["Detail"]
    assert fault_code(cdc(qb_api, "Vendorz", now.isoformat())) == "2170"
    for start in range(0, 1005, 30):  # batch creates keep this fast: 34 requests for 1005 customers
        items = [{"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"Bulk {n}"}}
                 for n in range(start, min(start + 30, 1005))]
        assert qb_api.post("/batch", {"BatchItemRequest": items}).status_code == 200
    rows = body(cdc(qb_api, "Customer,Invoice", (now - timedelta(days=1)).isoformat()))["CDCResponse"][0]
    customers, invoices = rows["QueryResponse"]
    assert len(customers["Customer"]) == 1000 and invoices == {}


def test_batch_mixes_operations_and_faults_per_item(qb_api):
    """Input: one batch with a create, a duplicate-name create, an update with a stale SyncToken, a delete and a
    query -> 200 with one BatchItemResponse per bId, Faults only on the two bad items."""
    existing = new_customer(qb_api, "Existing Ltd")
    invoice = new_invoice(qb_api, existing, ["8.00"])
    items = [
        {"bId": "c1", "operation": "create", "Customer": {"DisplayName": "Batch New"}},
        {"bId": "c2", "operation": "create", "Customer": {"DisplayName": "Existing Ltd"}},
        {"bId": "u1", "operation": "update", "Customer": {"Id": existing["Id"], "SyncToken": "7", "sparse": True,
                                                          "Notes": "x"}},
        {"bId": "d1", "operation": "delete", "Invoice": {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}},
        {"bId": "q1", "Query": "SELECT COUNT(*) FROM Customer"},
    ]
    response = qb_api.post("/batch", {"BatchItemRequest": items})
    assert response.status_code == 200
    answers = {answer["bId"]: answer for answer in body(response)["BatchItemResponse"]}
    assert answers["c1"]["Customer"]["DisplayName"] == "Batch New"
    assert answers["c2"]["Fault"]["Error"][0]["code"] == "6240" and answers["c2"]["Fault"]["type"] == "ValidationFault"
    assert answers["u1"]["Fault"]["Error"][0]["code"] == "5010"
    assert answers["d1"]["Invoice"]["status"] == "Deleted"
    assert answers["q1"]["QueryResponse"] == {"totalCount": 2}


def test_batch_limit_and_sdk_batch_create(qb_api, sdk):
    """Input: a batch of 31 items (refused whole), then python-quickbooks batch_create of 3 customers, one of them
    a duplicate -> 2 successes and 1 fault carrying code 6240."""
    items = [{"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"C{n}"}} for n in range(31)]
    too_many = qb_api.post("/batch", {"BatchItemRequest": items})
    assert too_many.status_code == 400 and body(too_many)["Fault"]["Error"][0]["element"] == "BatchItemRequest"
    assert body(qb_api.query("SELECT COUNT(*) FROM Customer"))["QueryResponse"]["totalCount"] == 0
    customers = []
    for name in ("Alpha GmbH", "Beta Ltd", "Alpha GmbH"):
        customer = Customer()
        customer.DisplayName = name
        customers.append(customer)
    result = batch_create(customers, qb=sdk)
    assert sorted(c.DisplayName for c in result.successes) == ["Alpha GmbH", "Beta Ltd"]
    assert [fault.Error[0].code for fault in result.faults] == ["6240"]


def test_batch_money_stays_decimal(qb_api):
    """Input: a batch invoice create with Amount 19.99 sent as a JSON number -> TotalAmt 19.99 exactly."""
    customer = new_customer(qb_api, "Decimal Ltd")
    line = {"DetailType": "SalesItemLineDetail", "Amount": Decimal("19.99"),
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}
    response = qb_api.post("/batch", {"BatchItemRequest": [
        {"bId": "i1", "operation": "create", "Invoice": {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}}]})
    text = response.text
    assert '"TotalAmt": 19.99' in text or '"TotalAmt":19.99' in text
    assert json.loads(text, parse_float=Decimal)["BatchItemResponse"][0]["Invoice"]["TotalAmt"] == Decimal("19.99")
