"""Bulk API 2.0 of the Salesforce sandbox through simple-salesforce's bulk2 client and plain HTTPS."""

from __future__ import annotations

import csv
import io

import pytest

API = "/services/data/v59.0"


@pytest.fixture
def sf_http(sf_http, sf_sandbox):
    """The conftest session, signed in with the org's token: these tests call the Bulk API over plain HTTP."""
    sf_http.headers["Authorization"] = f"Bearer {sf_sandbox.access_token}"
    return sf_http


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk_query_pages_with_locator_through_the_sdk(sf, seed):
    """Input: sf.bulk2.Account.query with max_records=5 over the 12 seeded Accounts, parent fields on Contacts."""
    pages = list(sf.bulk2.Account.query("SELECT Id, Name, Stripe_Customer_Id__c FROM Account ORDER BY Id",
                                        max_records=5, wait=0))
    assert [len(rows(page)) for page in pages] == [5, 5, 2]
    read = {row["Id"]: (row["Name"], row["Stripe_Customer_Id__c"]) for page in pages for row in rows(page)}
    assert read == {a.salesforce_id: (a.name, a.stripe_customer_id) for a in seed.accounts}
    [contacts] = list(sf.bulk2.Contact.query("SELECT Id, Account.Name FROM Contact", wait=0))
    assert {row["Account.Name"] for row in rows(contacts)} == {a.name for a in seed.accounts}


def test_bulk_query_results_carry_salesforce_headers(sf_sandbox, sf_http):
    """Input: a query job created over plain HTTPS, then its results read with maxRecords=10."""
    job = sf_http.post(sf_sandbox.base_url + f"{API}/jobs/query", timeout=10,
                       json={"operation": "query", "query": "SELECT Id, IsWon, Amount FROM Opportunity"}).json()
    assert job["state"] == "UploadComplete" and job["id"].startswith("750")
    states = [sf_http.get(sf_sandbox.base_url + f"{API}/jobs/query/{job['id']}", timeout=10).json() for _ in range(3)]
    assert [state["state"] for state in states] == ["InProgress", "InProgress", "JobComplete"]  # default: 2 polls
    info = states[-1]
    assert info["numberRecordsProcessed"] > 10
    first = sf_http.get(sf_sandbox.base_url + f"{API}/jobs/query/{job['id']}/results", params={"maxRecords": 10},
                        timeout=10)
    assert first.headers["Sforce-NumberOfRecords"] == "10" and first.headers["Sforce-Locator"] != "null"
    assert first.text.splitlines()[0] == '"Id","IsWon","Amount"'
    assert {row["IsWon"] for row in rows(first.text)} <= {"true", "false"}
    rest = sf_http.get(sf_sandbox.base_url + f"{API}/jobs/query/{job['id']}/results", timeout=10,
                       params={"locator": first.headers["Sforce-Locator"]})
    assert rest.headers["Sforce-Locator"] == "null"
    assert int(rest.headers["Sforce-NumberOfRecords"]) == info["numberRecordsProcessed"] - 10


def test_bulk_insert_reports_successful_and_failed_records(sf):
    """Input: sf.bulk2.Contact.insert of three rows, one with a LastName over 80 characters."""
    records = [{"LastName": "Bulk One", "Email": "one@example.com"}, {"LastName": "X" * 81, "Email": ""},
               {"LastName": "Bulk Three", "Email": "three@example.com"}]
    [result] = sf.bulk2.Contact.insert(records=records, wait=0)
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (3, 1)
    succeeded = rows(sf.bulk2.Contact.get_successful_records(result["job_id"]))
    assert [row["LastName"] for row in succeeded] == ["Bulk One", "Bulk Three"]
    assert all(row["sf__Id"].startswith("003") and row["sf__Created"] == "true" for row in succeeded)
    [failed] = rows(sf.bulk2.Contact.get_failed_records(result["job_id"]))
    assert failed["sf__Error"].startswith("STRING_TOO_LONG:")
    assert sf.query("SELECT COUNT() FROM Contact WHERE LastName LIKE 'Bulk %'")["totalSize"] == 2


def test_bulk_upsert_by_external_id(sf, seed):
    """Input: sf.bulk2.Account.upsert of one existing and one new Stripe customer id."""
    records = [{"Stripe_Customer_Id__c": seed.accounts[0].stripe_customer_id, "Name": "Bulk Renamed"},
               {"Stripe_Customer_Id__c": "cus_BULKNEW", "Name": "Bulk New", "NumberOfEmployees": "7"}]
    [result] = sf.bulk2.Account.upsert(records=records, external_id_field="Stripe_Customer_Id__c", wait=0)
    assert result["numberRecordsFailed"] == 0
    created = {row["Name"]: row["sf__Created"] for row in rows(sf.bulk2.Account.get_successful_records(
        result["job_id"]))}
    assert created == {"Bulk Renamed": "false", "Bulk New": "true"}
    new = sf.Account.get_by_custom_id("Stripe_Customer_Id__c", "cus_BULKNEW")
    assert new["NumberOfEmployees"] == 7


def test_an_ingest_job_takes_one_upload_only(sf_sandbox, sf_http):
    """Input: an ingest job given two PUTs of CSV data."""
    job = sf_http.post(sf_sandbox.base_url + f"{API}/jobs/ingest", timeout=10,
                       json={"object": "Contact", "operation": "insert", "contentType": "CSV"}).json()
    assert job["state"] == "Open"
    url = sf_sandbox.base_url + f"{API}/jobs/ingest/{job['id']}/batches"
    headers = {"Content-Type": "text/csv"}
    assert sf_http.put(url, data=b"LastName\nOne\n", headers=headers, timeout=10).status_code == 201
    second = sf_http.put(url, data=b"LastName\nTwo\n", headers=headers, timeout=10)
    assert second.status_code == 400 and "only do 'PUT' once" in second.json()[0]["message"]
