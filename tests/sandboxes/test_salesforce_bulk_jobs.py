"""Bulk API 2.0 jobs of the Salesforce sandbox take time: UploadComplete -> InProgress -> JobComplete (or Failed /
Aborted), polled over HTTPS with plain requests and with simple-salesforce's bulk2 client. Also the control API's
custom fields, which a real admin adds in Setup."""

from __future__ import annotations

import csv
import io

import pytest
import requests
from simple_salesforce.exceptions import SalesforceOperationError

from tests.sandboxes.salesforce_clients import sdk

API = "/services/data/v59.0"


@pytest.fixture
def sf_http(sf_http, sf_sandbox):
    """The conftest session, signed in with the org's token: these tests call the Bulk API over plain HTTP."""
    sf_http.headers["Authorization"] = f"Bearer {sf_sandbox.access_token}"
    return sf_http


def control(sf_sandbox, sf_http, path: str, body: dict) -> dict:
    response = sf_http.post(sf_sandbox.base_url + path, json=body, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def create_query(sf_sandbox, sf_http, soql: str, operation: str = "query") -> dict:
    response = sf_http.post(sf_sandbox.base_url + f"{API}/jobs/query", json={"operation": operation, "query": soql},
                            timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def poll(sf_sandbox, sf_http, job_id: str, kind: str = "query") -> dict:
    response = sf_http.get(sf_sandbox.base_url + f"{API}/jobs/{kind}/{job_id}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def results(sf_sandbox, sf_http, job_id: str, **params) -> requests.Response:
    return sf_http.get(sf_sandbox.base_url + f"{API}/jobs/query/{job_id}/results", params=params, timeout=10)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_query_job_is_in_progress_for_the_configured_polls_and_refuses_results_until_complete(sf_sandbox, sf_http):
    """Input: in_progress_polls=3, a query job over 12 Accounts, results asked for before each poll. Expect
    UploadComplete at creation, InProgress for 3 polls with numberRecordsProcessed growing, then JobComplete with
    all 12; every early results call is 412 JOB_NOT_COMPLETE naming the current status."""
    assert control(sf_sandbox, sf_http, "/_sandbox/bulk", {"in_progress_polls": 3})["in_progress_polls"] == 3
    job = create_query(sf_sandbox, sf_http, "SELECT Id, Name FROM Account")
    assert job["state"] == "UploadComplete" and job["numberRecordsProcessed"] == 0
    early = results(sf_sandbox, sf_http, job["id"])
    assert early.status_code == 412
    assert early.json() == [{"errorCode": "JOB_NOT_COMPLETE", "message": (
        "can only download query results of successfully completed bulk job with status: JOB_COMPLETE. "
        "Current status: UPLOAD_COMPLETE")}]

    seen = []
    for _ in range(4):
        info = poll(sf_sandbox, sf_http, job["id"])
        seen.append((info["state"], info["numberRecordsProcessed"]))
        if info["state"] != "JobComplete":
            assert "IN_PROGRESS" in results(sf_sandbox, sf_http, job["id"]).json()[0]["message"]
    assert seen == [("InProgress", 3), ("InProgress", 6), ("InProgress", 9), ("JobComplete", 12)]
    assert {key: info[key] for key in ("jobType", "retries", "isPkChunkingSupported", "object", "operation")} == {
        "jobType": "V2Query", "retries": 0, "isPkChunkingSupported": True, "object": "Account", "operation": "query"}
    assert isinstance(info["totalProcessingTime"], int) and info["totalProcessingTime"] >= 0
    done = results(sf_sandbox, sf_http, job["id"])
    assert done.status_code == 200 and done.headers["Sforce-NumberOfRecords"] == "12"


def test_query_job_in_seconds_mode_waits_for_the_sandbox_clock(sf_sandbox, sf_http):
    """Input: in_progress_seconds=120, a query job polled 5 times, then the clock moved 120 s. Expect InProgress
    through every poll, JobComplete after the clock move, totalProcessingTime of at least 120000 ms."""
    control(sf_sandbox, sf_http, "/_sandbox/bulk", {"in_progress_seconds": 120})
    job = create_query(sf_sandbox, sf_http, "SELECT Id FROM Contact")
    assert {poll(sf_sandbox, sf_http, job["id"])["state"] for _ in range(5)} == {"InProgress"}
    control(sf_sandbox, sf_http, "/_sandbox/clock", {"advance_seconds": 120})
    info = poll(sf_sandbox, sf_http, job["id"])
    assert info["state"] == "JobComplete" and info["totalProcessingTime"] >= 120_000


def test_settings_apply_to_jobs_queued_after_them(sf_sandbox, sf_http):
    """Input: a job queued with the default 2 polls, then in_progress_polls=0 and a second job. Expect the first
    still InProgress for 2 polls and the second complete at its first poll."""
    first = create_query(sf_sandbox, sf_http, "SELECT Id FROM Account")
    control(sf_sandbox, sf_http, "/_sandbox/bulk", {"in_progress_polls": 0})
    second = create_query(sf_sandbox, sf_http, "SELECT Id FROM Account")
    assert poll(sf_sandbox, sf_http, second["id"])["state"] == "JobComplete"
    assert [poll(sf_sandbox, sf_http, first["id"])["state"] for _ in range(3)] == ["InProgress", "InProgress",
                                                                                   "JobComplete"]


def test_results_pages_with_locator_equal_the_rest_query(sf_sandbox, sf_http):
    """Input: 450 planted Accounts (462 in all), a queryAll job read with maxRecords=100. Expect pages of
    100,100,100,100,62 chained by Sforce-Locator ('null' on the last), the union equal to the REST query's Ids and
    Names, and dateTimes written the Bulk API way (Z, not +0000)."""
    control(sf_sandbox, sf_http, "/_sandbox/accounts", [{"Name": f"Bulk {n:03d}"} for n in range(450)])
    control(sf_sandbox, sf_http, "/_sandbox/bulk", {"in_progress_polls": 0})
    job = create_query(sf_sandbox, sf_http, "SELECT Id, Name, SystemModstamp, IsDeleted FROM Account", "queryAll")
    assert poll(sf_sandbox, sf_http, job["id"])["state"] == "JobComplete"
    sizes, read, locator = [], [], None
    while True:
        page = results(sf_sandbox, sf_http, job["id"], maxRecords=100, **({"locator": locator} if locator else {}))
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/csv")
        sizes.append(int(page.headers["Sforce-NumberOfRecords"]))
        read += rows(page.text)
        locator = page.headers["Sforce-Locator"]
        if locator == "null":
            break
    assert sizes == [100, 100, 100, 100, 62]
    rest = sf_http.get(sf_sandbox.base_url + f"{API}/queryAll",
                       params={"q": "SELECT Id, Name, SystemModstamp FROM Account"},
                       headers={"Sforce-Query-Options": "batchSize=2000"}, timeout=10).json()
    assert rest["done"] and len(rest["records"]) == 462
    assert sorted((row["Id"], row["Name"]) for row in read) == sorted((r["Id"], r["Name"]) for r in rest["records"])
    stamps = {r["Id"]: r["SystemModstamp"] for r in rest["records"]}
    assert all(row["SystemModstamp"] == stamps[row["Id"]].replace("+0000", "Z") for row in read)
    assert {row["IsDeleted"] for row in read} == {"false"}


def test_failed_query_job_reports_its_error_and_has_no_results(sf_sandbox, sf_http):
    """Input: fail_next for one query job, then the same query again. Expect the first job Failed with Salesforce's
    QUERY_TIMEOUT errorMessage, its results 412 (Current status: FAILED), simple-salesforce's bulk2 raising; the
    failure is used up, so the second job completes."""
    control(sf_sandbox, sf_http, "/_sandbox/bulk", {"fail_next": {"count": 1, "kind": "query"}})
    job = create_query(sf_sandbox, sf_http, "SELECT Id FROM Account")
    states = [poll(sf_sandbox, sf_http, job["id"]) for _ in range(3)]
    assert [info["state"] for info in states] == ["InProgress", "InProgress", "Failed"]
    assert "QUERY_TIMEOUT" in states[-1]["errorMessage"]
    failed = results(sf_sandbox, sf_http, job["id"])
    assert failed.status_code == 412 and failed.json()[0]["message"].endswith("Current status: FAILED")

    control(sf_sandbox, sf_http, "/_sandbox/bulk", {"fail_next": {"count": 1, "kind": "query", "message": "boom"}})
    sf = sdk(sf_sandbox.base_url, sf_sandbox.access_token, sf_http)
    with pytest.raises(SalesforceOperationError, match="boom"):
        list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0))
    [page] = list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0))
    assert len(rows(page)) == 12


def test_aborting_a_query_job_in_progress(sf_sandbox, sf_http):
    """Input: a query job polled once (InProgress), then PATCH state Aborted. Expect Aborted on every later poll and
    results refused with Current status: ABORTED."""
    job = create_query(sf_sandbox, sf_http, "SELECT Id FROM Account")
    assert poll(sf_sandbox, sf_http, job["id"])["state"] == "InProgress"
    aborted = sf_http.patch(sf_sandbox.base_url + f"{API}/jobs/query/{job['id']}", json={"state": "Aborted"},
                            timeout=10)
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    assert {poll(sf_sandbox, sf_http, job["id"])["state"] for _ in range(4)} == {"Aborted"}
    assert results(sf_sandbox, sf_http, job["id"]).json()[0]["message"].endswith("Current status: ABORTED")


def test_ingest_job_runs_after_close_and_a_failed_one_writes_nothing(sf_sandbox, sf_http):
    """Input: a Contact insert job of 3 rows (one over-long LastName), then a second job with an injected ingest
    failure. Expect the first InProgress for 2 polls, then JobComplete with 3 processed / 1 failed and results only
    then; the second Failed with errorMessage, its 2 rows in unprocessedrecords and not in the org."""
    def ingest(body: bytes) -> str:
        job = sf_http.post(sf_sandbox.base_url + f"{API}/jobs/ingest", timeout=10,
                           json={"object": "Contact", "operation": "insert", "contentType": "CSV"}).json()
        put = sf_http.put(sf_sandbox.base_url + f"{API}/jobs/ingest/{job['id']}/batches", data=body,
                          headers={"Content-Type": "text/csv"}, timeout=10)
        assert put.status_code == 201
        closed = sf_http.patch(sf_sandbox.base_url + f"{API}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"},
                               timeout=10).json()
        assert closed["state"] == "UploadComplete"
        return job["id"]

    first = ingest(("LastName\nIngest One\n" + "X" * 81 + "\nIngest Three\n").encode())
    early = sf_http.get(sf_sandbox.base_url + f"{API}/jobs/ingest/{first}/successfulResults", timeout=10)
    assert early.status_code == 412 and early.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"
    states = [poll(sf_sandbox, sf_http, first, "ingest") for _ in range(3)]
    assert [info["state"] for info in states] == ["InProgress", "InProgress", "JobComplete"]
    assert (states[-1]["numberRecordsProcessed"], states[-1]["numberRecordsFailed"]) == (3, 1)
    assert {"apexProcessingTime", "apiActiveProcessingTime", "totalProcessingTime", "retries"} <= set(states[-1])
    succeeded = sf_http.get(sf_sandbox.base_url + f"{API}/jobs/ingest/{first}/successfulResults", timeout=10)
    assert [row["LastName"] for row in rows(succeeded.text)] == ["Ingest One", "Ingest Three"]

    control(sf_sandbox, sf_http, "/_sandbox/bulk", {"fail_next": {"kind": "ingest"}})
    second = ingest(b"LastName\nNever One\nNever Two\n")
    states = [poll(sf_sandbox, sf_http, second, "ingest") for _ in range(3)]
    assert states[-1]["state"] == "Failed" and states[-1]["errorMessage"]
    unprocessed = sf_http.get(sf_sandbox.base_url + f"{API}/jobs/ingest/{second}/unprocessedrecords", timeout=10)
    assert [row["LastName"] for row in rows(unprocessed.text)] == ["Never One", "Never Two"]
    count = sf_http.get(sf_sandbox.base_url + f"{API}/query", timeout=10,
                        params={"q": "SELECT COUNT() FROM Contact WHERE LastName LIKE 'Never%'"}).json()
    assert count["totalSize"] == 0


def test_bad_bulk_settings_are_refused(sf_sandbox, sf_http):
    """Input: negative polls, an unknown setting, a fail_next of kind 'sometimes'. Expect 400 for each."""
    for body in ({"in_progress_polls": -1}, {"polls": 2}, {"fail_next": {"kind": "sometimes"}}):
        assert sf_http.post(sf_sandbox.base_url + "/_sandbox/bulk", json=body, timeout=10).status_code == 400


def test_custom_field_added_through_the_control_api(sf_sandbox, sf_http, tmp_path):
    """Input: POST /_sandbox/fields/Account {Tier__c, string 40}, then describe, a REST write and SOQL, a snapshot
    restored into a fresh reset, and a reset. Expect the field in describe (custom), writable and queryable, kept by
    snapshot/restore, and gone after reset (the seeded org has no such field)."""
    added = control(sf_sandbox, sf_http, "/_sandbox/fields/Account",
                    {"name": "Tier__c", "type": "string", "length": 40})
    assert added["name"] == "Tier__c" and added["custom"] is True
    described = sf_http.get(sf_sandbox.base_url + f"{API}/sobjects/Account/describe", timeout=10).json()
    assert "Tier__c" in [field["name"] for field in described["fields"]]
    created = sf_http.post(sf_sandbox.base_url + f"{API}/sobjects/Account", json={"Name": "Tiered", "Tier__c": "Gold"},
                           timeout=10)
    assert created.status_code == 201, created.text
    found = sf_http.get(sf_sandbox.base_url + f"{API}/query", timeout=10,
                        params={"q": "SELECT Name, Tier__c FROM Account WHERE Tier__c != null"}).json()
    assert [(r["Name"], r["Tier__c"]) for r in found["records"]] == [("Tiered", "Gold")]
    duplicate = sf_http.post(sf_sandbox.base_url + "/_sandbox/fields/Account",
                             json={"name": "Tier__c", "type": "string"}, timeout=10)
    assert duplicate.status_code == 400

    saved = sf_sandbox.snapshot()
    sf_http.post(sf_sandbox.base_url + "/_sandbox/reset", timeout=10).raise_for_status()
    gone = sf_http.get(sf_sandbox.base_url + f"{API}/query", timeout=10, params={"q": "SELECT Tier__c FROM Account"})
    assert gone.status_code == 400 and gone.json()[0]["errorCode"] == "INVALID_FIELD"
    sf_sandbox.restore(saved)
    again = sf_http.get(sf_sandbox.base_url + f"{API}/query", timeout=10,
                        params={"q": "SELECT Tier__c FROM Account WHERE Name = 'Tiered'"}).json()
    assert [r["Tier__c"] for r in again["records"]] == ["Gold"]
