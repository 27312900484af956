"""SalesforceConnector driving the real simple-salesforce SDK against the running Salesforce sandbox."""

from __future__ import annotations

from datetime import UTC, datetime

import certifi
import pytest
from simple_salesforce import Salesforce, SalesforceExpiredSession, SalesforceMalformedRequest

from connectors.salesforce import SalesforceConnector, build_session
from mappings.salesforce import parse_datetime
from tests.connectors.sandbox_clients import salesforce_connector

TRICKY_NAME = 'O\'Brien \\ "x"'


def test_reads_every_seeded_account_without_attributes(sf_sandbox, sf_control, seed):
    """Input: iter_accounts() with the default fields over the 12 seeded Accounts."""
    accounts = list(salesforce_connector(sf_sandbox).iter_accounts())
    assert {a["Id"]: (a["Name"], a["Stripe_Customer_Id__c"], a["CurrencyIsoCode"]) for a in accounts} == {
        s.salesforce_id: (s.name, s.stripe_customer_id, s.currency.upper()) for s in seed.accounts
    }
    assert all("attributes" not in account and type(account) is dict for account in accounts)


def test_pages_through_450_extra_accounts_in_batches_of_200(sf_sandbox, sf_control, seed):
    """Input: 450 planted Accounts (462 in all) read with batch_size=200: three pages, every row once."""
    planted = sf_control.insert_accounts([{"Name": f"Bulk {index:03d}"} for index in range(450)])
    accounts = list(salesforce_connector(sf_sandbox, batch_size=200).iter_accounts(fields=["Id", "Name"]))
    ids = [account["Id"] for account in accounts]
    assert len(ids) == 462 == len(set(ids))
    assert set(planted) | {s.salesforce_id for s in seed.accounts} == set(ids)
    reads = [entry for entry in sf_control.requests() if entry["method"] == "GET"]
    assert len(reads) == 3  # one query, two nextRecordsUrl follow-ups
    assert all(entry["batch_size"] == 200 and entry["status"] == 200 for entry in reads)
    assert reads[1]["path"].endswith("-200") and reads[2]["path"].endswith("-400")


def test_find_by_name_quotes_apostrophe_backslash_and_quotes(sf_sandbox, sf_control, seed):
    """Input: find_accounts_by_name(`O'Brien \\ "x"`) and a name that differs only by one backslash."""
    connector = salesforce_connector(sf_sandbox)
    [found] = connector.find_accounts_by_name(TRICKY_NAME)
    expected = next(s for s in seed.accounts if s.name == TRICKY_NAME)
    assert (found["Id"], found["Name"]) == (expected.salesforce_id, TRICKY_NAME)
    assert connector.find_accounts_by_name('O\'Brien \\\\ "x"') == []
    query = [entry for entry in sf_control.requests() if entry["method"] == "GET"][0]["query"]["q"]
    assert "'O\\'Brien \\\\ \\\"x\\\"'" in query  # what format_soql sent, escapes intact


def test_upsert_creates_then_updates_without_duplicating(sf_sandbox, sf_control):
    """Input: upsert_account_by_stripe_id('cus_NEW123') twice, renaming the account the second time."""
    connector = salesforce_connector(sf_sandbox)
    assert connector.upsert_account_by_stripe_id("cus_NEW123", {"Name": "Brand New", "CurrencyIsoCode": "EUR"})
    assert not connector.upsert_account_by_stripe_id(
        "cus_NEW123", {"Name": "Brand New Renamed", "Stripe_Customer_Id__c": "cus_NEW123"}
    )
    matches = [a for a in connector.iter_accounts() if a["Stripe_Customer_Id__c"] == "cus_NEW123"]
    assert [(a["Name"], a["CurrencyIsoCode"]) for a in matches] == [("Brand New Renamed", "EUR")]
    upserts = [entry for entry in sf_control.requests() if entry["method"] == "PATCH"]
    assert [entry["status"] for entry in upserts] == [201, 200]


def test_incremental_read_resumes_after_a_timestamp_and_id_cursor(sf_sandbox, sf_control, seed):
    """Input: a cursor at the 3rd seeded account's (SystemModstamp, Id), then one upsert made later."""
    connector = salesforce_connector(sf_sandbox)
    everything = list(connector.iter_accounts_modified_since(datetime(2000, 1, 1, tzinfo=UTC)))
    assert len(everything) == len(seed.accounts)
    cursor = everything[2]
    rest = list(connector.iter_accounts_modified_since(parse_datetime(cursor["SystemModstamp"]), cursor["Id"]))
    assert [a["Id"] for a in rest] == [a["Id"] for a in everything[3:]]
    last = everything[-1]
    connector.upsert_account_by_stripe_id(seed.accounts[0].stripe_customer_id, {"Name": "Touched"})
    changed = list(connector.iter_accounts_modified_since(parse_datetime(last["SystemModstamp"]), last["Id"]))
    assert [(a["Id"], a["Name"]) for a in changed] == [(seed.accounts[0].salesforce_id, "Touched")]


def test_malformed_soql_surfaces_as_salesforce_malformed_request(sf_sandbox, sf_control):
    """Input: 'SELEKT Id FROM Account' through the SDK, and iter_accounts with an unknown field."""
    creds = sf_sandbox.credentials()
    client = Salesforce(instance_url=creds["SALESFORCE_INSTANCE_URL"], session_id=creds["SALESFORCE_ACCESS_TOKEN"],
                        session=build_session(sf_sandbox.bundle), version="59.0")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        client.query("SELEKT Id FROM Account")
    assert caught.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        list(salesforce_connector(sf_sandbox).iter_accounts(fields=["Id", "Nope__c"]))
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_bad_token_raises_expired_session(sf_sandbox, sf_control):
    """Input: a connector built with a wrong access token; simple-salesforce maps 401 to SalesforceExpiredSession."""
    connector = SalesforceConnector(sf_sandbox.base_url, "00Dwrong!token", sf_sandbox.bundle)
    with pytest.raises(SalesforceExpiredSession) as caught:
        list(connector.iter_accounts())
    assert caught.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_ca_bundle_wins_over_requests_ca_bundle_in_the_environment(sf_sandbox, sf_control, monkeypatch):
    """Input: REQUESTS_CA_BUNDLE pointing at the public roots only; the connector must still trust the sandbox CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    assert len(salesforce_connector(sf_sandbox).find_accounts_by_name(TRICKY_NAME)) == 1


def test_field_names_are_checked_before_they_reach_the_query(sf_sandbox):
    """Input: a 'field' that tries to smuggle a WHERE clause into the unquoted field list."""
    with pytest.raises(ValueError):
        list(salesforce_connector(sf_sandbox).iter_accounts(fields=["Id FROM Account WHERE Name != null --"]))
