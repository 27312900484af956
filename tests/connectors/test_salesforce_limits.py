"""SalesforceConnector against the org's limits, driving simple-salesforce against the Salesforce sandbox over
HTTPS: the daily API quota read from Sforce-Limit-Info, the reserve kept for others, REQUEST_LIMIT_EXCEEDED
(daily quota vs concurrent long requests), the per-org bound on queries in flight, UNABLE_TO_LOCK_ROW on a
single upsert, and Decimals sent exactly."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from simple_salesforce import SalesforceMalformedRequest, SalesforceRefusedRequest

from connectors.salesforce import SalesforceConnector, SalesforceQuotaError
from connectors.salesforce_collections import LockRetry
from connectors.salesforce_limits import QUOTA_RESERVE_ENV, Backoff
from tests.connectors.sandbox_clients import salesforce_connector

API = "/services/data/v59.0"
QUICK_LOCKS = LockRetry(attempts=5, first_wait=0.01, max_wait=0.05)


def connect(sandbox, **settings) -> SalesforceConnector:
    """A connector keeping a tenth of the daily quota for the org's other clients."""
    return salesforce_connector(sandbox, **{"quota_reserve_fraction": 0.1, **settings})


def api_calls(log: list[dict]) -> list[dict]:
    return [entry for entry in log if entry["path"].startswith(API + "/")]


def test_usage_read_from_sforce_limit_info_matches_the_sandbox_count(sf_sandbox, sf_control, seed):
    """Input: a fresh connector (no figures yet), then iter_accounts, count('Account') and
    find_accounts_by_name; then four calls by someone else and one more connector call.
    Expect quota_used/quota_limit and api_usage/api_limit to equal the sandbox's own count each time,
    the org-wide figure included (the connector's 4th call reports 8 used, not 4)."""
    connector = connect(sf_sandbox)
    assert (connector.quota_used, connector.quota_limit) == (None, None)
    assert "api_usage" not in connector.response_stats.as_metadata()
    assert len(list(connector.iter_accounts())) == len(seed.accounts)
    connector.count("Account")
    connector.find_accounts_by_name("nobody by this name")
    sandbox_count = sf_control.limits()["api_requests_used"]
    assert (connector.quota_used, connector.quota_limit) == (sandbox_count, 15_000) == (3, 15_000)
    metadata = connector.response_stats.as_metadata()
    assert (metadata["api_usage"], metadata["api_limit"], metadata["http_requests"]) == (3, 15_000, 3)
    assert [sf_control.someone_else_calls() for _ in range(4)] == [200] * 4
    connector.count("Account")
    assert connector.quota_used == sf_control.limits()["api_requests_used"] == 8


def test_the_reserve_stops_a_read_before_salesforce_refuses(sf_sandbox, sf_control):
    """Input: a daily quota of 20, 13 calls already made by others, a reserve of 0.25 (5 calls), and a read of
    462 Accounts in pages of 200 (3 calls). Expect two pages read (usage 14, then 15 = 20 - 5), the third
    refused by the connector with SalesforceQuotaError before it is sent: the sandbox never answers 403,
    its count stays at 15 and the 5 reserved calls are still there for people."""
    sf_control.post("/_sandbox/accounts", [{"Name": f"Reserve {index:03d}"} for index in range(450)])
    sf_control.limits(daily_api_requests=20)
    assert [sf_control.someone_else_calls() for _ in range(13)] == [200] * 13
    connector = connect(sf_sandbox, batch_size=200, quota_reserve_fraction=0.25)
    read: list[dict] = []
    with pytest.raises(SalesforceQuotaError) as stopped:
        read.extend(connector.iter_accounts(fields=["Id", "Name"]))
    assert str(stopped.value) == ("Salesforce daily API quota nearly spent: 15 of 20 used; "
                                  "keeping 5 for people and other integrations")
    assert (stopped.value.used, stopped.value.limit, stopped.value.reserve) == (15, 20, 5)
    assert len(read) == 400
    log = api_calls(sf_control.requests())
    assert [entry["status"] for entry in log] == [200] * 15  # 13 by others, 2 pages; no 403 ever
    assert sf_control.limits()["api_requests_used"] == 15
    with pytest.raises(SalesforceQuotaError):
        connector.count("Account")  # refused without a request: the log does not grow
    assert len(api_calls(sf_control.requests())) == 15
    assert [sf_control.someone_else_calls() for _ in range(5)] == [200] * 5


def test_threads_on_a_fresh_connector_never_spend_the_reserve_together(sf_sandbox, sf_control):
    """Input: a daily quota of 20 with 15 used by others, a reserve of 0.1 (2 calls), and 12 threads calling
    count('Account') at once on a connector that has seen no answer yet (requests held 0.05 s, so they overlap).
    Expect exactly 3 calls sent (the first alone, to learn the figures, then 2 more counted while in flight),
    9 refused with SalesforceQuotaError, the sandbox at 18 of 20 and never answering 403."""
    sf_control.limits(daily_api_requests=20, request_seconds=0.05)
    assert [sf_control.someone_else_calls() for _ in range(15)] == [200] * 15
    connector = connect(sf_sandbox, quota_reserve_fraction=0.1)

    def count() -> str:
        try:
            connector.count("Account")
            return "sent"
        except SalesforceQuotaError:
            return "refused"

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(lambda _: count(), range(12)))
    assert (outcomes.count("sent"), outcomes.count("refused")) == (3, 9)
    assert sf_control.limits()["api_requests_used"] == 18 == connector.quota_used
    assert {entry["status"] for entry in api_calls(sf_control.requests())} == {200}


def test_the_reserve_comes_from_the_environment(sf_sandbox, sf_control, monkeypatch):
    """Input: CONCORD_SALESFORCE_QUOTA_RESERVE=0.5 with a daily quota of 10 (so 5 kept), then 1.5.
    Expect the connector to stop after 5 calls, and a reserve outside 0..1 refused when it is built."""
    monkeypatch.setenv(QUOTA_RESERVE_ENV, "0.5")
    sf_control.limits(daily_api_requests=10)
    connector = SalesforceConnector(sf_sandbox.base_url, sf_sandbox.access_token, sf_sandbox.bundle)
    for _ in range(5):
        connector.count("Account")
    with pytest.raises(SalesforceQuotaError, match="5 of 10 used; keeping 5 for people"):
        connector.count("Account")
    assert sf_control.limits()["api_requests_used"] == 5
    monkeypatch.setenv(QUOTA_RESERVE_ENV, "1.5")
    with pytest.raises(ValueError, match="0 <= r < 1"):
        SalesforceConnector(sf_sandbox.base_url, sf_sandbox.access_token, sf_sandbox.bundle)


def test_a_spent_daily_quota_is_not_retried(sf_sandbox, sf_control):
    """Input: a daily quota of 5 spent by others, a connector with no reserve (so it is Salesforce that refuses)
    reading Accounts. Expect exactly one request (403 TotalRequests Limit exceeded), SalesforceQuotaError naming
    it, and a second call refused by the connector without any request."""
    sf_control.limits(daily_api_requests=5)
    assert [sf_control.someone_else_calls() for _ in range(5)] == [200] * 5
    connector = connect(sf_sandbox, quota_reserve_fraction=0.0, retry_attempts=4,
                        concurrency_backoff=Backoff(attempts=4, first_wait=0.01, max_wait=0.05))
    with pytest.raises(SalesforceQuotaError) as spent:
        list(connector.iter_accounts())
    assert "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded." in str(spent.value)
    assert (spent.value.used, spent.value.limit) == (5, 5)
    assert isinstance(spent.value.__cause__, SalesforceRefusedRequest)
    connector_calls = api_calls(sf_control.requests())[5:]
    assert [(entry["method"], entry["status"]) for entry in connector_calls] == [("GET", 403)]
    with pytest.raises(SalesforceQuotaError, match="5 of 5 used"):
        connector.count("Account")
    assert len(api_calls(sf_control.requests())) == 6


def _hold_one_long_request(sf_control) -> threading.Thread:
    """Another integration's query held in flight, filling the org's single long-request slot."""
    hog = threading.Thread(target=sf_control.someone_else_calls)
    hog.start()
    deadline = time.monotonic() + 5
    while sf_control.limits()["in_flight"] < 1:
        assert time.monotonic() < deadline, "the other integration's request never reached the sandbox"
        time.sleep(0.005)
    return hog


def test_the_concurrent_long_request_limit_is_waited_out(sf_sandbox, sf_control, seed):
    """Input: an org allowing 1 long request (every request long, each held 0.5 s), another integration's
    query in flight, then the connector reading every Account (backoff from 0.2 s, 6 sends).
    Expect the connector's first query refused (403 ConcurrentPerOrgLongTxn), sent again after a wait, and the
    read complete with all 12 Accounts; usage keeps being read from the refused answer too."""
    sf_control.limits(max_long_requests=1, long_request_seconds=0, request_seconds=0.5)
    hog = _hold_one_long_request(sf_control)
    connector = connect(sf_sandbox, concurrency_backoff=Backoff(attempts=6, first_wait=0.2, max_wait=1.0))
    accounts = list(connector.iter_accounts())
    hog.join()
    assert sorted(account["Id"] for account in accounts) == sorted(s.salesforce_id for s in seed.accounts)
    statuses = [entry["status"] for entry in api_calls(sf_control.requests())]
    # The other integration's query and the connector's last one answered; every other answer a refusal.
    assert statuses[-1] == 200 and statuses.count(200) == 2 and set(statuses) == {200, 403}
    assert connector.response_stats.by_status[403] == statuses.count(403) >= 1
    assert connector.response_stats.by_status[200] == 1
    assert connector.quota_used == sf_control.limits()["api_requests_used"]


def test_without_retries_the_concurrent_limit_surfaces_as_a_refusal_not_a_quota_error(sf_sandbox, sf_control):
    """Input: the same full org slot, a connector allowed one send (Backoff attempts=1).
    Expect SalesforceRefusedRequest with ConcurrentPerOrgLongTxn (not SalesforceQuotaError), one request."""
    sf_control.limits(max_long_requests=1, long_request_seconds=0, request_seconds=0.5)
    hog = _hold_one_long_request(sf_control)
    connector = connect(sf_sandbox, concurrency_backoff=Backoff(attempts=1))
    with pytest.raises(SalesforceRefusedRequest) as refused:
        connector.count("Account")
    hog.join()
    assert not isinstance(refused.value, SalesforceQuotaError)
    assert refused.value.content[0]["message"] == "ConcurrentPerOrgLongTxn Limit exceeded."
    assert connector.response_stats.by_status[403] == 1


@pytest.mark.parametrize("bound", [3, None])
def test_twelve_threads_reading_at_once_stay_within_the_per_org_bound(sf_sandbox, sf_control, bound):
    """Input: 462 Accounts, 12 threads each reading all of them in pages of 200 through one connector
    (36 queries), every request held 0.1 s at the sandbox; with max_concurrent_queries=3 the org's cap is set to
    3 as well (every request long), without a bound (None) to the production 25.
    Expect, bounded: never more than 3 in flight at the sandbox (peak exactly 3: there was something to bound),
    no 403, every thread all 462 records. Unbounded, the same measurement shows more than 3 in flight."""
    sf_control.post("/_sandbox/accounts", [{"Name": f"Thread {index:03d}"} for index in range(450)])
    sf_control.limits(max_long_requests=bound or 25, long_request_seconds=0, request_seconds=0.1)
    connector = connect(sf_sandbox, batch_size=200, max_concurrent_queries=bound)
    with ThreadPoolExecutor(12) as pool:
        reads = list(pool.map(lambda _: [a["Id"] for a in connector.iter_accounts(fields=["Id"])], range(12)))
    assert all(len(ids) == len(set(ids)) == 462 for ids in reads)
    log = api_calls(sf_control.requests())
    assert len(log) == 36 and {entry["status"] for entry in log} == {200}
    peak = sf_control.limits()["peak_in_flight"]
    if bound is not None:
        assert peak == bound
    else:
        assert peak > 3


def test_an_account_upsert_with_decimal_annual_revenue_lands_exactly(sf_sandbox, sf_control):
    """Input: upsert_account_by_stripe_id('cus_REV1') with AnnualRevenue Decimal('123456789012345678') (18 digits:
    a float would make it ...680) and a custom currency field Balance__c Decimal('1234567890123456.78'), then
    again with AnnualRevenue Decimal('987654321098765432'). Expect created then updated, and the values read back
    exactly, never as floats."""
    sf_control.post("/_sandbox/fields/Account", {"name": "Balance__c", "type": "currency"})
    connector = connect(sf_sandbox)
    fields = ["Id", "Stripe_Customer_Id__c", "AnnualRevenue", "Balance__c"]
    assert connector.upsert_account_by_stripe_id("cus_REV1", {
        "Name": "Revenue One", "AnnualRevenue": Decimal("123456789012345678"),
        "Balance__c": Decimal("1234567890123456.78")})
    [row] = [a for a in connector.iter_accounts(fields=fields) if a["Stripe_Customer_Id__c"] == "cus_REV1"]
    assert (row["AnnualRevenue"], row["Balance__c"]) == (123456789012345678, Decimal("1234567890123456.78"))
    assert not any(isinstance(value, float) for value in row.values())
    assert not connector.upsert_account_by_stripe_id("cus_REV1", {"AnnualRevenue": Decimal("987654321098765432")})
    [row] = [a for a in connector.iter_accounts(fields=fields) if a["Stripe_Customer_Id__c"] == "cus_REV1"]
    assert row["AnnualRevenue"] == Decimal("987654321098765432")
    patches = [entry for entry in sf_control.requests() if entry["method"] == "PATCH"]
    assert [(entry["idempotency_key"], entry["status"]) for entry in patches] == [
        ("Stripe_Customer_Id__c/cus_REV1", 201), ("Stripe_Customer_Id__c/cus_REV1", 200)]


def test_a_locked_row_on_a_single_upsert_is_sent_again_with_backoff(sf_sandbox, sf_control, seed):
    """Input: UNABLE_TO_LOCK_ROW planted twice on a seeded Account, then upsert_account_by_stripe_id renaming it;
    then planted 5 times against a connector allowed 3 sends. Expect three PATCHes (400, 400, 200) and the new name;
    then exactly three 400s and the SDK's SalesforceMalformedRequest with UNABLE_TO_LOCK_ROW for the caller."""
    account = seed.accounts[0]
    sf_control.post("/_sandbox/lock_rows", {"ids": [account.salesforce_id], "times": 2})
    connector = connect(sf_sandbox, lock_retry=QUICK_LOCKS)
    assert not connector.upsert_account_by_stripe_id(account.stripe_customer_id, {"Name": "Unlocked at last"})
    assert [a["Name"] for a in connector.iter_accounts() if a["Id"] == account.salesforce_id] == ["Unlocked at last"]
    assert [entry["status"] for entry in sf_control.requests() if entry["method"] == "PATCH"] == [400, 400, 200]
    sf_control.post("/_sandbox/lock_rows", {"ids": [account.salesforce_id], "times": 5})
    impatient = connect(sf_sandbox, lock_retry=LockRetry(attempts=3, first_wait=0.01, max_wait=0.05))
    with pytest.raises(SalesforceMalformedRequest) as locked:
        impatient.upsert_account_by_stripe_id(account.stripe_customer_id, {"Name": "Never"})
    assert locked.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    patches = [entry["status"] for entry in sf_control.requests() if entry["method"] == "PATCH"]
    assert patches == [400, 400, 200] + [400] * 3
