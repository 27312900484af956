"""sObject Collections, OAuth, sessions, org limits, UNABLE_TO_LOCK_ROW and injected faults of the
Salesforce sandbox, driven over HTTPS with simple-salesforce and plain requests."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceExpiredSession, SalesforceMalformedRequest

from sandboxes.http import Request
from sandboxes.salesforce.errors import ApiError
from sandboxes.salesforce.limits import LongRequests

API = "/services/data/v59.0"


def call(sf_http, sf_sandbox, method: str, path: str, token: str | None = "default", **kwargs) -> requests.Response:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {sf_sandbox.access_token if token == 'default' else token}"
    return sf_http.request(method, sf_sandbox.base_url + path, headers=headers, timeout=10, **kwargs)


# -- sObject Collections -------------------------------------------------------------------------


def test_collection_create_reports_each_record_and_keeps_the_good_ones(sf):
    """Input: three Contacts in one POST /composite/sobjects, the middle one without its required LastName."""
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "LastName": "First"},
        {"attributes": {"type": "Contact"}, "FirstName": "No last name"},
        {"attributes": {"type": "Account"}, "Name": "Collected Co"},
    ]}
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert [result["success"] for result in results] == [True, False, True]
    assert results[0]["id"].startswith("003") and results[2]["id"].startswith("001")
    assert "id" not in results[1]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["errors"][0]["fields"] == ["LastName"]
    assert sf.query("SELECT COUNT() FROM Contact WHERE LastName = 'First'")["totalSize"] == 1


def test_collection_all_or_none_rolls_every_record_back(sf):
    """Input: the same kind of batch with allOrNone true; nothing may be written."""
    before = sf.query("SELECT COUNT() FROM Contact")["totalSize"]
    body = {"allOrNone": True, "records": [
        {"attributes": {"type": "Contact"}, "LastName": "Kept?"},
        {"attributes": {"type": "Contact"}, "LastName": "X" * 81},
    ]}
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert results[0] == {"success": False, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the request was using AllOrNone "
                   "header", "fields": []}]}
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == before


def test_collection_update_upsert_and_delete(sf, seed):
    """Input: PATCH two Accounts (one Id unknown), upsert two by Stripe id (one new), DELETE two ids (one bogus)."""
    first, second = seed.accounts[0].salesforce_id, seed.accounts[1].salesforce_id
    updated = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Account"}, "id": first, "Name": "Renamed One"},
        {"attributes": {"type": "Account"}, "id": "001" + "0" * 12 + "AAA", "Name": "Ghost"},
    ]})
    assert updated[0] == {"id": first, "success": True, "errors": []}
    assert updated[1]["success"] is False and updated[1]["errors"][0]["statusCode"] == "NOT_FOUND"
    upserted = sf.restful("composite/sobjects/Account/Stripe_Customer_Id__c", method="PATCH", json={"records": [
        {"attributes": {"type": "Account"}, "Stripe_Customer_Id__c": seed.accounts[1].stripe_customer_id,
         "Name": "Upserted Two"},
        {"attributes": {"type": "Account"}, "Stripe_Customer_Id__c": "cus_NEW123", "Name": "Brand New"},
    ]})
    assert [(r["created"], r["success"]) for r in upserted] == [(False, True), (True, True)]
    assert upserted[0]["id"] == second
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{second},001bogus"})
    assert deleted[0] == {"id": second, "success": True, "errors": []}
    assert deleted[1]["errors"][0]["statusCode"] == "MALFORMED_ID"


def test_collection_over_200_records_is_refused_whole(sf_sandbox, sf_http):
    """Input: 201 records in one create call."""
    records = [{"attributes": {"type": "Contact"}, "LastName": f"N{index}"} for index in range(201)]
    response = call(sf_http, sf_sandbox, "POST", f"{API}/composite/sobjects", json={"records": records})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_unable_to_lock_row_is_injectable(sf_sandbox, sf, sf_http, seed):
    """Input: a lock failure planted on one Account; a PATCH fails once with UNABLE_TO_LOCK_ROW, the retry works."""
    record_id = seed.accounts[0].salesforce_id
    planted = sf_http.post(sf_sandbox.base_url + "/_sandbox/lock_rows", json={"ids": [record_id], "times": 1},
                           timeout=10)
    assert planted.status_code == 200
    with pytest.raises(SalesforceMalformedRequest) as locked:
        sf.Account.update(record_id, {"Name": "Locked?"})
    assert locked.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert sf.Account.update(record_id, {"Name": "Unlocked"}) == 204


# -- OAuth and sessions --------------------------------------------------------------------------


def _app(sf_sandbox, sf_http) -> dict:
    return sf_http.get(sf_sandbox.base_url + "/_sandbox/oauth", timeout=10).json()


def test_password_and_client_credentials_grants_issue_working_tokens(sf_sandbox, sf_http):
    """Input: the password flow and the client-credentials flow of POST /services/oauth2/token."""
    app = _app(sf_sandbox, sf_http)
    for form in (
        {"grant_type": "password", "username": app["username"], "password": app["password"]},
        {"grant_type": "client_credentials"},
    ):
        response = sf_http.post(sf_sandbox.base_url + "/services/oauth2/token", timeout=10,
                                data={**form, "client_id": app["client_id"], "client_secret": app["client_secret"]})
        assert response.status_code == 200
        token = response.json()
        assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} <= set(token)
        assert token["token_type"] == "Bearer" and token["instance_url"] == sf_sandbox.base_url
        sf = Salesforce(instance_url=token["instance_url"], session_id=token["access_token"], session=sf_http)
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 12


@pytest.mark.parametrize(("change", "error"), [
    ({"client_secret": "wrong"}, "invalid_client"),
    ({"client_id": "wrong"}, "invalid_client_id"),
    ({"password": "wrong"}, "invalid_grant"),
    ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
])
def test_bad_grants_answer_the_oauth_error(sf_sandbox, sf_http, change, error):
    """Input: a password grant with one thing wrong."""
    app = _app(sf_sandbox, sf_http)
    form = {"grant_type": "password", **app, **change}
    response = sf_http.post(sf_sandbox.base_url + "/services/oauth2/token", data=form, timeout=10)
    assert response.status_code == 400 and response.json()["error"] == error


def test_sessions_time_out_after_inactivity_on_the_sandbox_clock(sf_sandbox, sf, sf_http):
    """Input: a 600 s session timeout; a call after 500 s keeps the session alive, one after 601 idle s fails."""
    sf_http.post(sf_sandbox.base_url + "/_sandbox/limits", json={"session_timeout_seconds": 600}, timeout=10)
    sf_http.post(sf_sandbox.base_url + "/_sandbox/clock", json={"advance_seconds": 500}, timeout=10)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 12
    sf_http.post(sf_sandbox.base_url + "/_sandbox/clock", json={"advance_seconds": 500}, timeout=10)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 12
    sf_http.post(sf_sandbox.base_url + "/_sandbox/clock", json={"advance_seconds": 601}, timeout=10)
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.query("SELECT COUNT() FROM Account")
    assert expired.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


# -- limits --------------------------------------------------------------------------------------


def test_every_answer_reports_api_usage_and_the_quota_is_enforced(sf_sandbox, sf_http):
    """Input: a 3-request daily quota: three queries, a fourth refused, then 24 h later allowed again."""
    sf_http.post(sf_sandbox.base_url + "/_sandbox/limits", json={"daily_api_requests": 3}, timeout=10)
    path = f"{API}/query?q=SELECT+COUNT()+FROM+Account"
    usage = [call(sf_http, sf_sandbox, "GET", path).headers["Sforce-Limit-Info"] for _ in range(3)]
    assert usage == ["api-usage=1/3", "api-usage=2/3", "api-usage=3/3"]
    refused = call(sf_http, sf_sandbox, "GET", path)
    assert refused.status_code == 403
    assert refused.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    sf_http.post(sf_sandbox.base_url + "/_sandbox/limits", json={"session_timeout_seconds": 7 * 86400}, timeout=10)
    sf_http.post(sf_sandbox.base_url + "/_sandbox/clock", json={"advance_seconds": 86400}, timeout=10)
    assert call(sf_http, sf_sandbox, "GET", path).status_code == 200


def test_limits_resource_reports_daily_api_requests(sf_sandbox, sf_http):
    """Input: two calls, then GET /limits."""
    call(sf_http, sf_sandbox, "GET", f"{API}/sobjects")
    body = call(sf_http, sf_sandbox, "GET", f"{API}/limits").json()
    assert body["DailyApiRequests"]["Max"] == 15000 and body["DailyApiRequests"]["Remaining"] == 15000 - 2


def test_concurrent_long_requests_are_capped():
    """Input: a limiter of 2 long requests with a 0 s threshold: two in flight, a third refused, then one ends."""
    limiter = LongRequests(max_long=2, threshold_seconds=0.0)
    first, _second = limiter.begin(), limiter.begin()
    with pytest.raises(ApiError) as refused:
        limiter.begin()
    assert (refused.value.status, refused.value.error_code) == (403, "REQUEST_LIMIT_EXCEEDED")
    assert "ConcurrentPerOrgLongTxn" in refused.value.message
    limiter.end(first)
    limiter.begin()


def test_requests_held_in_flight_are_counted_and_the_peak_is_reported(sf_sandbox, sf_http):
    """Input: request_seconds 1.0 and six concurrent queries from six threads; then a reset.
    Expect GET /_sandbox/limits to show all six in flight while held, a peak of 6, and reset to clear both."""
    sf_http.post(sf_sandbox.base_url + "/_sandbox/limits", json={"request_seconds": 1.0}, timeout=10)
    path = f"{API}/query?q=SELECT+COUNT()+FROM+Account"
    with ThreadPoolExecutor(6) as pool:
        started = time.monotonic()
        answers = [pool.submit(call, sf_http, sf_sandbox, "GET", path) for _ in range(6)]
        seen = []
        while not seen or (seen[-1] < 6 and time.monotonic() < started + 0.9):
            seen.append(sf_http.get(sf_sandbox.base_url + "/_sandbox/limits", timeout=10).json()["in_flight"])
        assert [answer.result().status_code for answer in answers] == [200] * 6
        took = time.monotonic() - started
    after = sf_http.get(sf_sandbox.base_url + "/_sandbox/limits", timeout=10).json()
    assert seen[-1] == 6 and max(seen) == 6 and took >= 1.0
    assert (after["in_flight"], after["peak_in_flight"]) == (0, 6)
    sf_http.post(sf_sandbox.base_url + "/_sandbox/reset", timeout=10).raise_for_status()
    reset = sf_http.get(sf_sandbox.base_url + "/_sandbox/limits", timeout=10).json()
    assert (reset["peak_in_flight"], reset["request_seconds"], reset["in_flight"]) == (0, 0.0, 0)


def test_a_request_held_past_the_long_threshold_fills_the_org_cap(sf_sandbox, sf_http):
    """Input: max_long_requests 1, long_request_seconds 0, request_seconds 0.5: one query held in flight,
    a second sent meanwhile. Expect the second refused with ConcurrentPerOrgLongTxn, the first answered."""
    sf_http.post(sf_sandbox.base_url + "/_sandbox/limits",
                 json={"max_long_requests": 1, "long_request_seconds": 0, "request_seconds": 0.5}, timeout=10)
    path = f"{API}/query?q=SELECT+COUNT()+FROM+Account"
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(call, sf_http, sf_sandbox, "GET", path)
        deadline = time.monotonic() + 5
        while sf_http.get(sf_sandbox.base_url + "/_sandbox/limits", timeout=10).json()["in_flight"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        refused = call(sf_http, sf_sandbox, "GET", path)
        assert held.result().status_code == 200
    assert refused.status_code == 403
    assert refused.json() == [{"message": "ConcurrentPerOrgLongTxn Limit exceeded.",
                               "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_annual_revenue_is_a_whole_unit_currency_of_18_digits(sf):
    """Input: AnnualRevenue 123456789012345678 (18 digits, more than a float holds) and 2500000.5.
    Expect the first stored exactly, the second rounded half-up to the field's scale 0 (2500001)."""
    [field] = [f for f in sf.Account.describe()["fields"] if f["name"] == "AnnualRevenue"]
    assert (field["type"], field["precision"], field["scale"]) == ("currency", 18, 0)
    big = sf.Account.create({"Name": "Big Revenue", "AnnualRevenue": 123456789012345678})["id"]
    half = sf.restful("sobjects/Account", method="POST", data='{"Name": "Half", "AnnualRevenue": 2500000.5}')["id"]
    assert sf.Account.get(big)["AnnualRevenue"] == 123456789012345678
    assert sf.Account.get(half)["AnnualRevenue"] == Decimal("2500001")


# -- injected faults -----------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("rate_limit", 403, "REQUEST_LIMIT_EXCEEDED"),
    ("server_error", 500, "UNKNOWN_EXCEPTION"),
    ("expired_token", 401, "INVALID_SESSION_ID"),
])
def test_fault_responses_have_salesforce_shapes(sf_sandbox, kind, status, code):
    """Input: fault_response for each kind on a query request."""
    request = Request("GET", f"{API}/query", {"q": ["SELECT Id FROM Account"]}, {}, b"")
    response = sf_sandbox.fault_response(kind, request)
    assert response.status == status
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    [error] = json.loads(response.body)
    assert set(error) == {"message", "errorCode"} and error["errorCode"] == code


def test_unknown_fault_kind_is_refused(sf_sandbox):
    """Input: a fault kind no vendor has."""
    with pytest.raises(ValueError, match="rate_limit"):
        sf_sandbox.fault_response("meteor", Request("GET", "/", {}, {}, b""))
