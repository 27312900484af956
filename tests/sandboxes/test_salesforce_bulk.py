"""Bulk API 2.0 of the Salesforce sandbox through simple-salesforce's bulk2 client and plain HTTPS."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
import requests
from simple_salesforce import Salesforce

from sandboxes.salesforce import SalesforceSandbox
from sandboxes.seed import build_seed
from sandboxes.tls import create_local_ca

API = "/services/data/v59.0"


class _TrustingSession(requests.Session):
    """Verifies every request against the sandbox bundle (REQUESTS_CA_BUNDLE would override Session.verify)."""

    bundle = ""

    def request(self, method, url, *args, **kwargs):
        kwargs["verify"] = self.bundle
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(scope="module")
def seed():
    return build_seed()


@pytest.fixture(scope="module")
def sandbox(seed, tmp_path_factory):
    tls = create_local_ca(tmp_path_factory.mktemp("ca"))
    server = SalesforceSandbox(seed, tls=tls).start()
    server.bundle = str(tls.bundle_path)
    yield server
    server.stop()


@pytest.fixture
def http(sandbox) -> _TrustingSession:
    session = _TrustingSession()
    session.bundle = sandbox.bundle
    session.post(sandbox.base_url + "/_sandbox/reset", timeout=10).raise_for_status()
    session.headers["Authorization"] = f"Bearer {sandbox.access_token}"
    return session


@pytest.fixture
def sf(sandbox, http) -> Salesforce:
    return Salesforce(instance_url=sandbox.base_url, session_id=sandbox.access_token, session=http,
                      version="59.0", parse_float=Decimal)


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


def test_bulk_query_results_carry_salesforce_headers(sandbox, http):
    """Input: a query job created over plain HTTPS, then its results read with maxRecords=10."""
    job = http.post(sandbox.base_url + f"{API}/jobs/query", timeout=10,
                    json={"operation": "query", "query": "SELECT Id, IsWon, Amount FROM Opportunity"}).json()
    assert job["state"] == "UploadComplete" and job["id"].startswith("750")
    states = [http.get(sandbox.base_url + f"{API}/jobs/query/{job['id']}", timeout=10).json() for _ in range(3)]
    assert [state["state"] for state in states] == ["InProgress", "InProgress", "JobComplete"]  # default: 2 polls
    info = states[-1]
    assert info["numberRecordsProcessed"] > 10
    first = http.get(sandbox.base_url + f"{API}/jobs/query/{job['id']}/results", params={"maxRecords": 10},
                     timeout=10)
    assert first.headers["Sforce-NumberOfRecords"] == "10" and first.headers["Sforce-Locator"] != "null"
    assert first.text.splitlines()[0] == '"Id","IsWon","Amount"'
    assert {row["IsWon"] for row in rows(first.text)} <= {"true", "false"}
    rest = http.get(sandbox.base_url + f"{API}/jobs/query/{job['id']}/results", timeout=10,
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


def test_an_ingest_job_takes_one_upload_only(sandbox, http):
    """Input: an ingest job given two PUTs of CSV data."""
    job = http.post(sandbox.base_url + f"{API}/jobs/ingest", timeout=10,
                    json={"object": "Contact", "operation": "insert", "contentType": "CSV"}).json()
    assert job["state"] == "Open"
    url = sandbox.base_url + f"{API}/jobs/ingest/{job['id']}/batches"
    headers = {"Content-Type": "text/csv"}
    assert http.put(url, data=b"LastName\nOne\n", headers=headers, timeout=10).status_code == 201
    second = http.put(url, data=b"LastName\nTwo\n", headers=headers, timeout=10)
    assert second.status_code == 400 and "only do 'PUT' once" in second.json()[0]["message"]
