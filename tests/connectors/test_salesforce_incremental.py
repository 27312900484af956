"""SalesforceConnector incremental reads ((SystemModstamp, Id) cursor, queryAll, getDeleted, describe) and session
renewal, driving simple-salesforce against the Salesforce sandbox."""

from __future__ import annotations

import pytest
from simple_salesforce import SalesforceExpiredSession

from connectors.cursors import CursorGap, latest
from connectors.salesforce import SalesforceConnector, SessionRenewalError, build_session
from sandboxes.salesforce import SalesforceSandbox
from sandboxes.seed import build_seed
from sandboxes.tls import create_local_ca

SESSION_TIMEOUT_PLUS = 3 * 3600  # the sandbox org times sessions out after 2 idle hours


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    tls = create_local_ca(tmp_path_factory.mktemp("ca"))
    server = SalesforceSandbox(build_seed(), tls=tls).start()
    server.bundle = str(tls.bundle_path)
    yield server
    server.stop()


@pytest.fixture
def control(sandbox):
    session = build_session(sandbox.bundle)

    class Control:
        def post(self, path: str, body) -> dict:
            response = session.post(sandbox.base_url + path, json=body, timeout=10)
            assert response.status_code in (200, 201), response.text
            return response.json()

        def now_stamp(self) -> str:
            now = session.get(sandbox.base_url + "/_sandbox/clock", timeout=10).json()["now"]
            from datetime import UTC, datetime
            return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")

        def advance(self, seconds: int) -> None:
            self.post("/_sandbox/clock", {"advance_seconds": seconds})

        def oauth(self) -> dict:
            return session.get(sandbox.base_url + "/_sandbox/oauth", timeout=10).json()

    session.post(sandbox.base_url + "/_sandbox/reset", timeout=10).raise_for_status()
    return Control()


def connect(sandbox, **kwargs) -> SalesforceConnector:
    creds = sandbox.credentials()
    return SalesforceConnector(creds["SALESFORCE_INSTANCE_URL"], creds["SALESFORCE_ACCESS_TOKEN"], sandbox.bundle,
                               **kwargs)


def test_tie_group_across_page_boundary_resumes_exactly(sandbox, control):
    """Input: 450 Accounts planted with ONE SystemModstamp (pages of 200, so the tie spans three pages). Expect all
    462 Accounts once on a first sync, and from a cursor at the 250th tied record exactly the 200 after it."""
    stamp = control.now_stamp()
    planted = control.post("/_sandbox/accounts", [{"Name": f"Tie {n:03d}", "SystemModstamp": stamp}
                                                  for n in range(450)])["ids"]
    sf = connect(sandbox, batch_size=200)
    first = list(sf.iter_changed("Account", None, fields=["Id", "Name"]))
    ids = [change.record["Id"] for change in first]
    assert len(ids) == 462 == len(set(ids)) and set(planted) <= set(ids)

    tied = [change.position for change in first if change.record["Id"] in set(planted)]
    assert len({position[0] for position in tied}) == 1
    cursor = tied[249]
    resumed = [change.position for change in sf.iter_changed("Account", cursor, fields=["Id"])]
    assert resumed == tied[250:]


def test_updates_soft_deletes_and_describe_are_caught(sandbox, control):
    """Input: a first sync (describe picks the fields), then one Account renamed and one deleted through the API.
    Expect exactly those two after the cursor (the delete with IsDeleted), and nothing from the next cursor."""
    sf = connect(sandbox)
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


def test_quiet_stream_cursor_follows_salesforce_clock_so_it_never_looks_like_a_gap(sandbox, control):
    """Input: a sync, 10 quiet days, a sync, 10 more quiet days, a sync (20 days in all, retention 15). Expect no
    CursorGap: each committed cursor is Salesforce's now, not the newest (ever older) record."""
    oauth = control.oauth()
    sf = connect(sandbox, client_id=oauth["client_id"], client_secret=oauth["client_secret"])
    feed = sf.iter_changed("Account", None, fields=["Id"])
    assert len(list(feed)) == 12
    for _ in range(2):
        control.advance(10 * 86_400)
        again = sf.iter_changed("Account", feed.cursor, fields=["Id"])
        assert list(again) == [] and again.cursor > feed.cursor
        feed = again


def test_cursor_older_than_get_deleted_retention_is_a_gap(sandbox, control):
    """Input: a cursor taken now, then the sandbox clock moved 16 days (Salesforce keeps deletions 15). Expect
    CursorGap naming 15 days; a cursor 1 day old reads normally."""
    oauth = control.oauth()
    fresh = connect(sandbox, client_id=oauth["client_id"], client_secret=oauth["client_secret"])
    feed = fresh.iter_changed("Account", None, fields=["Id"])
    list(feed)
    cursor = feed.cursor
    control.advance(16 * 86_400)  # the session idles out too: renewed on the way
    with pytest.raises(CursorGap, match="15 days"):
        fresh.iter_changed("Account", cursor, fields=["Id"])
    day_old = (cursor[0] + 15 * 86_400 * 1000, cursor[1])
    assert list(fresh.iter_changed("Account", day_old, fields=["Id"])) == []


@pytest.mark.parametrize("flow", ["password", "client_credentials"])
def test_expired_session_is_renewed_once_and_the_call_retried(sandbox, control, flow):
    """Input: OAuth settings ({flow} flow), the session idled out (clock +3 h), two reads. Expect one renewal,
    one 401, both reads answered."""
    oauth = control.oauth()
    extra = {"username": oauth["username"], "password": oauth["password"]} if flow == "password" else {}
    sf = connect(sandbox, client_id=oauth["client_id"], client_secret=oauth["client_secret"], **extra)
    control.advance(SESSION_TIMEOUT_PLUS)
    assert len(list(sf.iter_accounts())) == 12
    assert len(sf.find_accounts_by_name("nobody")) == 0
    assert sf.renewals == 1
    assert sf.response_stats.by_status[401] == 1


def test_session_expiring_in_the_middle_of_a_paged_read_is_renewed(sandbox, control):
    """Input: 450 planted Accounts read in pages of 200; after the first page the session idles out. Expect the
    read to finish with every record once after one renewal."""
    control.post("/_sandbox/accounts", [{"Name": f"Page {n:03d}"} for n in range(450)])
    oauth = control.oauth()
    sf = connect(sandbox, batch_size=200, client_id=oauth["client_id"], client_secret=oauth["client_secret"])
    records = sf.iter_accounts(fields=["Id"])
    first_page = [next(records) for _ in range(200)]
    control.advance(SESSION_TIMEOUT_PLUS)
    ids = [record["Id"] for record in first_page + list(records)]
    assert len(ids) == 462 == len(set(ids))
    assert sf.renewals == 1


def test_without_oauth_settings_expiry_is_raised_and_bad_secret_is_reported(sandbox, control):
    """Input: an idled-out session with no OAuth settings, then with a wrong client secret. Expect the SDK's
    SalesforceExpiredSession, then SessionRenewalError (HTTP 400 invalid_client)."""
    control.advance(SESSION_TIMEOUT_PLUS)
    with pytest.raises(SalesforceExpiredSession):
        list(connect(sandbox).iter_accounts())
    oauth = control.oauth()
    with pytest.raises(SessionRenewalError, match="invalid_client"):
        list(connect(sandbox, client_id=oauth["client_id"], client_secret="wrong").iter_accounts())
