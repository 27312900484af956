"""SalesforceConnector's Bulk API 2.0 first syncs, sObject Collections upserts and describe-driven field lists,
driving simple-salesforce against the Salesforce sandbox over HTTPS."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.salesforce import SalesforceConnector
from connectors.salesforce_bulk import BulkJobError, BulkPolling
from connectors.salesforce_collections import LockRetry
from tests.connectors.sandbox_clients import salesforce_connector

FAST = BulkPolling(first_wait=0.01, backoff_factor=2, max_wait=0.05, timeout=10)
JOBS = "/services/data/v59.0/jobs/query"


def connect(sandbox, **settings) -> SalesforceConnector:
    """A connector polling Bulk jobs every 10 ms, not Salesforce's seconds."""
    return salesforce_connector(sandbox, **{"bulk_polling": FAST, **settings})


def bulk_calls(log: list[dict]) -> dict[str, list[dict]]:
    return {
        "create": [entry for entry in log if entry["method"] == "POST" and entry["path"] == JOBS],
        "status": [entry for entry in log if entry["method"] == "GET" and entry["path"].startswith(JOBS + "/")
                   and not entry["path"].endswith("/results")],
        "pages": [entry for entry in log if entry["path"].endswith("/results")],
        "delete": [entry for entry in log if entry["method"] == "DELETE" and entry["path"].startswith(JOBS + "/")],
    }


# ---- Bulk API 2.0 first syncs -------------------------------------------------------------------------------------


def test_large_first_sync_waits_for_an_in_progress_job_and_reads_every_locator_page(sf_sandbox, sf_control):
    """Input: 450 planted Accounts (462 in all), jobs InProgress for 3 polls, bulk_threshold=100, pages of 100.
    Expect one queryAll job, 4 status polls (3 InProgress, then JobComplete), 5 result pages, the job deleted after,
    every Account once, and no REST read of the records themselves (only the COUNT())."""
    sf_control.insert_accounts([{"Name": f"Bulk {n:03d}", "NumberOfEmployees": n} for n in range(450)])
    sf_control.post("/_sandbox/bulk", {"in_progress_polls": 3})
    sf = connect(sf_sandbox, bulk_threshold=100, bulk_page_size=100)
    feed = sf.changes("Account", None)
    ids = [change.record["Id"] for change in feed]
    assert len(ids) == 462 == len(set(ids)) and feed.complete

    log = sf_control.requests()
    calls = bulk_calls(log)
    assert len(calls["create"]) == 1 and len(calls["status"]) == 4 and len(calls["delete"]) == 1
    assert [entry["query"]["maxRecords"] for entry in calls["pages"]] == ["100"] * 5
    assert all(entry["status"] == 200 for entry in calls["pages"])
    rest_reads = [entry["query"].get("q", "") for entry in log if entry["path"].rstrip("/").endswith("/queryAll")]
    assert rest_reads == ["SELECT COUNT() FROM Account"]


def test_bulk_records_equal_the_rest_records_value_for_value_and_type_for_type(sf_sandbox, sf_control):
    """Input: the 12 seeded Accounts plus one with a null Website, NumberOfEmployees 0 and one soft-deleted Account;
    a first sync through Bulk (threshold 5) and one through REST (threshold None). Expect the same records (values
    and Python types: bool, int, None, REST's +0000 dateTimes), the same field list and the same cursor."""
    sf_rest = connect(sf_sandbox, bulk_threshold=None)
    sf_rest._client.Account.create({"Name": "Zero Staff", "NumberOfEmployees": 0})
    gone = sf_rest._client.Account.create({"Name": "Soon Deleted"})["id"]
    sf_rest._client.Account.delete(gone)

    rest_feed = sf_rest.changes("Account", None)
    rest = {change.record["Id"]: change for change in rest_feed}
    bulk_feed = connect(sf_sandbox, bulk_threshold=5).changes("Account", None)
    bulk = {change.record["Id"]: change for change in bulk_feed}
    assert bulk_calls(sf_control.requests())["create"], "the bulk read ran no query job"

    assert set(bulk) == set(rest) and len(bulk) == 14
    for record_id, change in rest.items():
        assert bulk[record_id].record == change.record
        assert {key: type(value) for key, value in bulk[record_id].record.items()} == {
            key: type(value) for key, value in change.record.items()}
        assert (bulk[record_id].position, bulk[record_id].deleted) == (change.position, change.deleted)
    assert bulk[gone].deleted and bulk[gone].record["IsDeleted"] is True
    zero = next(change.record for change in bulk.values() if change.record["Name"] == "Zero Staff")
    assert zero["NumberOfEmployees"] == 0 and zero["Website"] is None and zero["SystemModstamp"].endswith("+0000")
    assert bulk_feed.fields == rest_feed.fields and bulk_feed.cursor == rest_feed.cursor


def test_bulk_opportunities_keep_money_as_decimal_like_rest(sf_sandbox, sf_control):
    """Input: the seeded Opportunities (currency Amount, percent Probability, date CloseDate, calculated booleans)
    read through Bulk (threshold 5) and through REST. Expect identical records, types included: Amount a Decimal
    with its cents, never a float."""
    rest = {c.record["Id"]: c.record for c in connect(sf_sandbox, bulk_threshold=None).changes("Opportunity", None)}
    bulk = {c.record["Id"]: c.record for c in connect(sf_sandbox, bulk_threshold=5).changes("Opportunity", None)}
    assert len(bulk_calls(sf_control.requests())["create"]) == 1 and len(rest) > 5
    assert bulk == rest
    assert all({k: type(v) for k, v in bulk[key].items()} == {k: type(v) for k, v in rest[key].items()} for key in rest)
    amounts = [record["Amount"] for record in bulk.values() if record["Amount"] is not None]
    assert amounts and all(isinstance(amount, Decimal) for amount in amounts)
    assert not any(isinstance(value, float) for record in bulk.values() for value in record.values())


def test_records_sharing_one_systemmodstamp_across_page_boundaries_are_read_once(sf_sandbox, sf_control):
    """Input: 450 Accounts planted with ONE SystemModstamp, read through Bulk in pages of 100 (the tie spans every
    page boundary). Expect each tied Account exactly once, the cursor the newest (SystemModstamp, Id), and an
    incremental read from that cursor that sees exactly one later update and nothing else."""
    stamp = sf_control.now_stamp()
    planted = sf_control.insert_accounts([{"Name": f"Tie {n:03d}", "SystemModstamp": stamp} for n in range(450)])
    sf = connect(sf_sandbox, bulk_threshold=100, bulk_page_size=100)
    feed = sf.changes("Account", None, fields=["Id", "Name"])
    changes = list(feed)
    tied = [change for change in changes if change.record["Id"] in set(planted)]
    assert sorted(change.record["Id"] for change in tied) == sorted(planted)
    assert len(changes) == 462 == len({change.record["Id"] for change in changes})
    assert len({change.position[0] for change in tied}) == 1
    assert len(bulk_calls(sf_control.requests())["pages"]) == 5  # the tie crossed four page boundaries
    assert feed.cursor >= max(change.position for change in changes)

    sf._client.Account.update(planted[300], {"Name": "Tie updated"})
    later = list(sf.changes("Account", feed.cursor, fields=["Id", "Name"]))
    assert [(change.record["Id"], change.record["Name"]) for change in later] == [(planted[300], "Tie updated")]


def test_a_failed_bulk_job_is_an_error_not_an_empty_success(sf_sandbox, sf_control):
    """Input: 450 planted Accounts and the next query job set to fail. Expect BulkJobError naming the job and
    Salesforce's QUERY_TIMEOUT message, nothing yielded, the feed not complete and its cursor not moved."""
    sf_control.insert_accounts([{"Name": f"Fail {n:03d}"} for n in range(450)])
    sf_control.post("/_sandbox/bulk", {"fail_next": {"count": 1, "kind": "query"}})
    feed = connect(sf_sandbox, bulk_threshold=100).changes("Account", None)
    read = []
    with pytest.raises(BulkJobError, match="QUERY_TIMEOUT") as raised:
        read.extend(feed)
    assert raised.value.state == "Failed" and raised.value.job_id.startswith("750")
    assert read == [] and not feed.complete and feed.cursor is None
    assert bulk_calls(sf_control.requests())["pages"] == []


def test_a_bulk_job_that_outlives_the_deadline_is_aborted_and_raised(sf_sandbox, sf_control):
    """Input: jobs InProgress for a million polls, polling with a 0.3 s deadline. Expect BulkJobError (Aborted by
    Concord) and the job aborted on the org (PATCH state Aborted, job info Aborted)."""
    sf_control.insert_accounts([{"Name": f"Slow {n:03d}"} for n in range(450)])
    sf_control.post("/_sandbox/bulk", {"in_progress_polls": 1_000_000})
    polling = BulkPolling(first_wait=0.01, backoff_factor=2, max_wait=0.05, timeout=0.3)
    with pytest.raises(BulkJobError, match="aborted by Concord") as raised:
        list(connect(sf_sandbox, bulk_threshold=100, bulk_polling=polling).changes("Account", None))
    aborts = [entry for entry in sf_control.requests() if entry["method"] == "PATCH" and entry["path"].startswith(JOBS)]
    assert len(aborts) == 1 and aborts[0]["status"] == 200
    info = connect(sf_sandbox)._client.restful(f"jobs/query/{raised.value.job_id}")
    assert info["state"] == "Aborted"


def test_small_first_sync_stays_on_rest(sf_sandbox, sf_control):
    """Input: the 12 seeded Accounts with the default threshold (2000). Expect no Bulk API job."""
    assert len(list(connect(sf_sandbox).changes("Account", None))) == 12
    assert bulk_calls(sf_control.requests())["create"] == []


# ---- describe each run ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [None, 5], ids=["rest", "bulk"])
def test_a_custom_field_added_in_salesforce_appears_in_the_next_read(sf_sandbox, sf_control, threshold):
    """Input: a first read, then an admin adds Tier__c (text) and Seats__c (number) to Account (control API) and
    sets them on one Account; the next full read ({threshold}). Expect both fields in the feed's field list and in
    the records (null where unset, 'Gold' and 12 where set), absent from the first read."""
    sf = connect(sf_sandbox, bulk_threshold=threshold)
    first = sf.changes("Account", None)
    records = [change.record for change in first]
    assert "Tier__c" not in first.fields and "Tier__c" not in records[0]

    sf_control.post("/_sandbox/fields/Account", {"name": "Tier__c", "type": "string", "length": 40})
    sf_control.post("/_sandbox/fields/Account", {"name": "Seats__c", "type": "double", "precision": 8, "scale": 0})
    sf._client.Account.update(records[0]["Id"], {"Tier__c": "Gold", "Seats__c": 12})
    second = sf.changes("Account", None)
    by_id = {change.record["Id"]: change.record for change in second}
    assert {"Tier__c", "Seats__c"} <= set(second.fields)
    assert (by_id[records[0]["Id"]]["Tier__c"], by_id[records[0]["Id"]]["Seats__c"]) == ("Gold", 12)
    assert by_id[records[1]["Id"]]["Tier__c"] is None
    rest = {change.record["Id"]: change.record for change in connect(sf_sandbox, bulk_threshold=None).changes(
        "Account", None)}
    assert by_id == rest and all({k: type(v) for k, v in by_id[key].items()} == {k: type(v) for k, v in
                                                                                 rest[key].items()} for key in rest)


# ---- sObject Collections upserts -----------------------------------------------------------------------------------


def test_collection_upsert_of_450_reports_exactly_the_invalid_records_as_failed(sf_sandbox, sf_control):
    """Input: 450 new Accounts upserted by Stripe_Customer_Id__c, three of them bad: #17 without its required Name,
    #230 with CurrencyIsoCode 'XXX' (not an active currency), #401 with a 300-character Name (max 255). Expect 3 calls
    (200, 200, 50 records, each answered 200), exactly those three failed with REQUIRED_FIELD_MISSING,
    INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST and STRING_TOO_LONG, the other 447 written (created) and in the org."""
    records = [{"Stripe_Customer_Id__c": f"cus_COLL{n:03d}", "Name": f"Collection {n:03d}", "NumberOfEmployees": n}
               for n in range(450)]
    del records[17]["Name"]
    records[230]["CurrencyIsoCode"] = "XXX"
    records[401]["Name"] = "N" * 300
    outcome = connect(sf_sandbox).upsert_records("Account", "Stripe_Customer_Id__c", records)

    failed = {result.index: result.error_codes for result in outcome.failed}
    assert failed == {17: ["REQUIRED_FIELD_MISSING"], 230: ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"],
                      401: ["STRING_TOO_LONG"]}
    assert all(result.errors[0]["message"] for result in outcome.failed)
    assert [result.index for result in outcome.results] == list(range(450))
    assert len(outcome.written) == 447 and all(result.created and result.id.startswith("001")
                                               for result in outcome.written)
    calls = [entry for entry in sf_control.requests() if entry["method"] == "PATCH" and "composite" in entry["path"]]
    assert [entry["status"] for entry in calls] == [200, 200, 200]
    sf = connect(sf_sandbox)._client
    assert sf.query("SELECT COUNT() FROM Account WHERE Stripe_Customer_Id__c LIKE 'cus_COLL%'")["totalSize"] == 447
    stored = sf.Account.get_by_custom_id("Stripe_Customer_Id__c", "cus_COLL229")
    assert (stored["Name"], stored["NumberOfEmployees"]) == ("Collection 229", 229)


def test_unable_to_lock_row_is_retried_for_that_record_only_and_lands_once(sf_sandbox, sf_control):
    """Input: 5 existing Accounts renamed through upsert_records, the 3rd locked for its next 2 writes
    (UNABLE_TO_LOCK_ROW), plus one new Account. Expect 3 calls: all 6 records, then the locked one alone twice;
    every record written, the locked one on its 3rd attempt, renamed once and no duplicate created."""
    sf = connect(sf_sandbox, lock_retry=LockRetry(attempts=5, first_wait=0.01, max_wait=0.05))
    existing = [change.record for change in sf.changes("Account", None, fields=["Id", "Stripe_Customer_Id__c"])]
    existing = existing[:5]
    locked = existing[2]
    sf_control.post("/_sandbox/lock_rows", {"ids": [locked["Id"]], "times": 2})
    records = [{"Stripe_Customer_Id__c": record["Stripe_Customer_Id__c"], "Name": f"Renamed {n}"}
               for n, record in enumerate(existing)] + [{"Stripe_Customer_Id__c": "cus_LOCKNEW", "Name": "New"}]
    outcome = sf.upsert_records("Account", "Stripe_Customer_Id__c", records)

    assert outcome.failed == [] and len(outcome.written) == 6
    assert [result.attempts for result in outcome.results] == [1, 1, 3, 1, 1, 1]
    assert outcome.results[2].id == locked["Id"] and outcome.results[2].created is False
    bodies = [entry for entry in sf_control.requests() if entry["method"] == "PATCH" and "composite" in entry["path"]]
    assert len(bodies) == 3
    client = sf._client
    soql = "SELECT Id, Name FROM Account WHERE Stripe_Customer_Id__c = '{}'"
    rows = client.query(soql.format(locked["Stripe_Customer_Id__c"]))["records"]
    assert [(row["Id"], row["Name"]) for row in rows] == [(locked["Id"], "Renamed 2")]
    assert client.query("SELECT COUNT() FROM Account WHERE Stripe_Customer_Id__c = 'cus_LOCKNEW'")["totalSize"] == 1


def test_a_lock_that_outlasts_the_retries_is_a_failure(sf_sandbox, sf_control):
    """Input: one new Account while every write is locked 10 times, LockRetry(attempts=3). Expect that record
    failed with UNABLE_TO_LOCK_ROW after 3 attempts and nothing created."""
    sf_control.post("/_sandbox/lock_rows", {"ids": [], "times": 10})
    sf = connect(sf_sandbox, lock_retry=LockRetry(attempts=3, first_wait=0.01, max_wait=0.02))
    outcome = sf.upsert_records("Account", "Stripe_Customer_Id__c", [{"Stripe_Customer_Id__c": "cus_STUCK",
                                                                      "Name": "Stuck"}])
    [result] = outcome.failed
    assert (result.error_codes, result.attempts, outcome.written) == (["UNABLE_TO_LOCK_ROW"], 3, [])
    assert sf._client.query("SELECT COUNT() FROM Account WHERE Name = 'Stuck'")["totalSize"] == 0


def test_decimal_values_travel_as_exact_json_numbers(sf_sandbox, sf_control):
    """Input: a custom currency field on Account, upserted with Decimal('1234567890.125') and Decimal('0.10').
    Expect the org to store them at the field's scale (half-up: 1234567890.13, 0.10), read back as Decimal."""
    sf_control.post("/_sandbox/fields/Account", {"name": "Balance__c", "type": "currency", "precision": 18, "scale": 2})
    sf = connect(sf_sandbox)
    outcome = sf.upsert_records("Account", "Stripe_Customer_Id__c", [
        {"Stripe_Customer_Id__c": "cus_DEC1", "Name": "Dec One", "Balance__c": Decimal("1234567890.125")},
        {"Stripe_Customer_Id__c": "cus_DEC2", "Name": "Dec Two", "Balance__c": Decimal("0.10")}])
    assert outcome.failed == []
    rows = sf._client.query("SELECT Balance__c FROM Account WHERE Name LIKE 'Dec %' ORDER BY Name")["records"]
    assert [row["Balance__c"] for row in rows] == [Decimal("1234567890.13"), Decimal("0.10")]


# ---- faults on the way ---------------------------------------------------------------------------------------------


def test_bulk_read_and_collection_upsert_land_exactly_once_under_the_flaky_profile(sf_sandbox, sf_control):
    """Input: 450 planted Accounts, the 'flaky' fault profile (seed 3: 5xx, writes committed then the connection
    dropped, bodies cut short), a Bulk first sync in pages of 10, then 450 new Accounts upserted. Expect faults to
    have been injected and retried, every Account read once, and every upserted Account in the org exactly once."""
    sf_control.insert_accounts([{"Name": f"Flaky {n:03d}"} for n in range(450)])
    sf_control.post("/_sandbox/bulk", {"in_progress_polls": 1})
    sf_control.post("/_sandbox/fault-profile", {"profile": "flaky", "seed": 3})
    try:
        sf = connect(sf_sandbox, bulk_threshold=100, bulk_page_size=10, retry_wait=0.01)
        ids = [change.record["Id"] for change in sf.changes("Account", None, fields=["Id", "Name"])]
        records = [{"Stripe_Customer_Id__c": f"cus_FLAKY{n:03d}", "Name": f"Upserted {n:03d}"} for n in range(450)]
        outcome = sf.upsert_records("Account", "Stripe_Customer_Id__c", records)
        injected = sf_control.get("/_sandbox/fault-profile")["injected"]
    finally:
        sf_control.post("/_sandbox/fault-profile", {"profile": "none"})
    assert sum(injected.values()) > 0 and sf.response_stats.non_success > 0, injected
    assert len(ids) == 462 == len(set(ids))
    assert outcome.failed == [] and len(outcome.written) == 450
    client = connect(sf_sandbox)._client
    assert client.query("SELECT COUNT() FROM Account WHERE Stripe_Customer_Id__c LIKE 'cus_FLAKY%'")["totalSize"] == 450


def test_session_expiring_while_a_bulk_job_runs_is_renewed(sf_sandbox, sf_control):
    """Input: jobs that take 60 s of sandbox clock, an OAuth-configured connector polling one, and the clock moved
    3 hours (past the 2-hour session timeout) while it polls. Expect one renewal, one 401, and the read complete."""
    import threading
    import time

    sf_control.insert_accounts([{"Name": f"Expiring {n:03d}"} for n in range(450)])
    sf_control.post("/_sandbox/bulk", {"in_progress_seconds": 60})
    oauth = sf_control.get("/_sandbox/oauth")
    sf = connect(sf_sandbox, bulk_threshold=100, client_id=oauth["client_id"], client_secret=oauth["client_secret"])
    feed = sf.changes("Account", None, fields=["Id"])
    mover = threading.Timer(0.3, lambda: sf_control.post("/_sandbox/clock", {"advance_seconds": 3 * 3600}))
    started = time.monotonic()
    mover.start()
    try:
        ids = [change.record["Id"] for change in feed]
    finally:
        mover.join()
    assert time.monotonic() - started >= 0.3  # the job was still running when the clock moved
    assert len(ids) == 462 and feed.complete
    assert sf.renewals == 1 and sf.response_stats.by_status[401] == 1
