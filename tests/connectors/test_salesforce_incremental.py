"""SalesforceConnector incremental reads ((SystemModstamp, Id) cursor, queryAll, getDeleted, describe) and session
renewal, driving simple-salesforce against the Salesforce sandbox."""

from __future__ import annotations

import pytest
from simple_salesforce import SalesforceExpiredSession

from connectors.cursors import CursorGap, latest
from connectors.salesforce import SessionRenewalError
from tests.connectors.sandbox_clients import salesforce_connector

SESSION_TIMEOUT_PLUS = 3 * 3600  # the sandbox org times sessions out after 2 idle hours


def test_tie_group_across_page_boundary_resumes_exactly(sf_sandbox, sf_control):
    """Input: 450 Accounts planted with ONE SystemModstamp (pages of 200, so the tie spans three pages). Expect all
    462 Accounts once on a first sync, and from a cursor at the 250th tied record exactly the 200 after it."""
    stamp = sf_control.now_stamp()
    planted = sf_control.post("/_sandbox/accounts", [{"Name": f"Tie {n:03d}", "SystemModstamp": stamp}
                                                     for n in range(450)])["ids"]
    sf = salesforce_connector(sf_sandbox, batch_size=200)
    first = list(sf.iter_changed("Account", None, fields=["Id", "Name"]))
    ids = [change.record["Id"] for change in first]
    assert len(ids) == 462 == len(set(ids)) and set(planted) <= set(ids)

    tied = [change.position for change in first if change.record["Id"] in set(planted)]
    assert len({position[0] for position in tied}) == 1
    cursor = tied[249]
    resumed = [change.position for change in sf.iter_changed("Account", cursor, fields=["Id"])]
    assert resumed == tied[250:]


def test_updates_soft_deletes_and_describe_are_caught(sf_sandbox, sf_control):
    """Input: a first sync (describe picks the fields), then one Account renamed and one deleted through the API.
    Expect exactly those two after the cursor (the delete with IsDeleted), and nothing from the next cursor."""
    sf = salesforce_connector(sf_sandbox)
    feed = sf.changes("Account", None)
    assert {"Id", "Name", "Stripe_Customer_Id__c", "SystemModstamp", "IsDeleted"} <= set(feed.fields)
    first = list(feed)
    assert feed.complete and len(first) == 12
    cursor = feed.cursor  # Salesforce's own now (getDeleted), newer than every seeded record
    renamed, deleted = first[0].record["Id"], first[1].record["Id"]

    sf._client.Account.update(renamed, {"Name": "Renamed Co"})
    sf._client.Account.delete(deleted)

    changes = list(sf.iter_changed("Account", cursor))
    by_id = {change.record["Id"]: change for change in changes}
    assert set(by_id) == {renamed, deleted}
    assert by_id[renamed].record["Name"] == "Renamed Co" and not by_id[renamed].deleted
    assert by_id[deleted].deleted and by_id[deleted].record["IsDeleted"] is True
    assert list(sf.iter_changed("Account", latest(cursor, *(c.position for c in changes)))) == []


def test_quiet_stream_cursor_follows_salesforce_clock_so_it_never_looks_like_a_gap(sf_sandbox, sf_control):
    """Input: a sync, 10 quiet days, a sync, 10 more quiet days, a sync (20 days in all, retention 15). Expect no
    CursorGap: each committed cursor is Salesforce's now, not the newest (ever older) record."""
    oauth = sf_control.oauth()
    sf = salesforce_connector(sf_sandbox, client_id=oauth["client_id"], client_secret=oauth["client_secret"])
    feed = sf.iter_changed("Account", None, fields=["Id"])
    assert len(list(feed)) == 12
    for _ in range(2):
        sf_control.advance(10 * 86_400)
        again = sf.iter_changed("Account", feed.cursor, fields=["Id"])
        assert list(again) == [] and again.cursor > feed.cursor
        feed = again


def test_cursor_older_than_get_deleted_retention_is_a_gap(sf_sandbox, sf_control):
    """Input: a cursor taken now, then the sandbox clock moved 16 days (Salesforce keeps deletions 15). Expect
    CursorGap naming 15 days; a cursor 1 day old reads normally."""
    oauth = sf_control.oauth()
    fresh = salesforce_connector(sf_sandbox, client_id=oauth["client_id"], client_secret=oauth["client_secret"])
    feed = fresh.iter_changed("Account", None, fields=["Id"])
    list(feed)
    cursor = feed.cursor
    sf_control.advance(16 * 86_400)  # the session idles out too: renewed on the way
    with pytest.raises(CursorGap, match="15 days"):
        fresh.iter_changed("Account", cursor, fields=["Id"])
    day_old = (cursor[0] + 15 * 86_400 * 1000, cursor[1])
    assert list(fresh.iter_changed("Account", day_old, fields=["Id"])) == []


@pytest.mark.parametrize("flow", ["password", "client_credentials"])
def test_expired_session_is_renewed_once_and_the_call_retried(sf_sandbox, sf_control, flow):
    """Input: OAuth settings ({flow} flow), the session idled out (clock +3 h), two reads. Expect one renewal,
    one 401, both reads answered."""
    oauth = sf_control.oauth()
    extra = {"username": oauth["username"], "password": oauth["password"]} if flow == "password" else {}
    sf = salesforce_connector(sf_sandbox, client_id=oauth["client_id"], client_secret=oauth["client_secret"], **extra)
    sf_control.advance(SESSION_TIMEOUT_PLUS)
    assert len(list(sf.iter_accounts())) == 12
    assert len(sf.find_accounts_by_name("nobody")) == 0
    assert sf.renewals == 1
    assert sf.response_stats.by_status[401] == 1


def test_session_expiring_in_the_middle_of_a_paged_read_is_renewed(sf_sandbox, sf_control):
    """Input: 450 planted Accounts read in pages of 200; after the first page the session idles out. Expect the
    read to finish with every record once after one renewal."""
    sf_control.post("/_sandbox/accounts", [{"Name": f"Page {n:03d}"} for n in range(450)])
    oauth = sf_control.oauth()
    sf = salesforce_connector(sf_sandbox, batch_size=200, client_id=oauth["client_id"],
                              client_secret=oauth["client_secret"])
    records = sf.iter_accounts(fields=["Id"])
    first_page = [next(records) for _ in range(200)]
    sf_control.advance(SESSION_TIMEOUT_PLUS)
    ids = [record["Id"] for record in first_page + list(records)]
    assert len(ids) == 462 == len(set(ids))
    assert sf.renewals == 1


def test_without_oauth_settings_expiry_is_raised_and_bad_secret_is_reported(sf_sandbox, sf_control):
    """Input: an idled-out session with no OAuth settings, then with a wrong client secret. Expect the SDK's
    SalesforceExpiredSession, then SessionRenewalError (HTTP 400 invalid_client)."""
    sf_control.advance(SESSION_TIMEOUT_PLUS)
    with pytest.raises(SalesforceExpiredSession):
        list(salesforce_connector(sf_sandbox).iter_accounts())
    oauth = sf_control.oauth()
    with pytest.raises(SessionRenewalError, match="invalid_client"):
        list(salesforce_connector(sf_sandbox, client_id=oauth["client_id"], client_secret="wrong").iter_accounts())
