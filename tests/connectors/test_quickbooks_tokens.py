"""QuickBooks OAuth refresh with rotating refresh tokens, driven through the real SDK against the sandbox.

The sandbox is built with `expire_initial_token=True`, so the access token it hands out dies after an
hour of sandbox clock; tests move that clock with `POST /_sandbox/clock`.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from connectors.oauth_tokens import TokenRefreshError
from connectors.quickbooks import QuickBooksConnector
from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.seed import build_seed
from store.hub import Hub


@pytest.fixture(scope="module")
def qb_sandbox(tls):
    server = QuickBooksSandbox(build_seed(), tls=tls, expire_initial_token=True).start()
    yield server
    server.stop()


@pytest.fixture
def creds(qb_sandbox, qb_control) -> dict[str, str]:
    qb_control.post("/_sandbox/reset").raise_for_status()
    return qb_sandbox.credentials()


@pytest.fixture
def hub(tmp_path):
    store = Hub(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    yield store
    store.dispose()


def _connector(creds: dict, tls, hub, **overrides) -> QuickBooksConnector:
    settings = dict(
        access_token=creds["QUICKBOOKS_ACCESS_TOKEN"], ca_bundle=str(tls.bundle_path), retry_wait_seconds=0.01,
        client_id=creds["QUICKBOOKS_CLIENT_ID"], client_secret=creds["QUICKBOOKS_CLIENT_SECRET"],
        refresh_token=creds["QUICKBOOKS_REFRESH_TOKEN"],
        token_url=creds["QUICKBOOKS_BASE_URL"] + "/oauth2/v1/tokens/bearer", token_store=hub,
    )
    settings.update(overrides)
    return QuickBooksConnector(creds["QUICKBOOKS_BASE_URL"], creds["QUICKBOOKS_REALM_ID"], **settings)


def _expire_tokens(qb_control: httpx.Client) -> None:
    qb_control.post("/_sandbox/clock", json={"advance_seconds": 3700}).raise_for_status()


def _refresh_at_vendor(qb_control: httpx.Client, creds: dict, refresh_token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return qb_control.post("/oauth2/v1/tokens/bearer", data=form,
                           auth=(creds["QUICKBOOKS_CLIENT_ID"], creds["QUICKBOOKS_CLIENT_SECRET"]))


def test_expired_token_is_refreshed_once_and_the_rotation_survives_a_restart(creds, qb_control, tls, hub):
    """Input: the configured access token expired (clock +3700 s); three calls. Expect one refresh, the pair
    stored in the hub, the configured refresh token dead (invalid_grant), and a second connector built
    from the same (stale) configuration and the same hub working without refreshing."""
    qb = _connector(creds, tls, hub)
    assert qb.count("Customer") == 0  # the token still works before the clock moves
    _expire_tokens(qb_control)

    for _ in range(3):
        assert qb.count("Customer") == 0
    assert qb.tokens.refreshes == 1
    assert qb.response_stats.by_status[401] == 1

    stored = hub.token("quickbooks", creds["QUICKBOOKS_REALM_ID"])
    assert stored is not None and stored.version == 1
    assert stored.refresh_token != creds["QUICKBOOKS_REFRESH_TOKEN"]
    assert stored.access_token == qb.client.session.access_token
    dead = _refresh_at_vendor(qb_control, creds, creds["QUICKBOOKS_REFRESH_TOKEN"])
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"

    restarted = _connector(creds, tls, hub)  # configuration still names the original, dead pair
    assert restarted.client.session.access_token == stored.access_token
    assert restarted.count("Invoice") == 0
    assert restarted.tokens.refreshes == 0
    assert restarted.response_stats.non_success == 0


def test_stale_connector_adopts_the_pair_another_connector_rotated(creds, qb_control, tls, hub):
    """Input: two connectors from one hub both hold the expired token; A refreshes first, then B gets a 401.
    Expect B to use the stored pair (no second refresh, which would kill A's refresh token)."""
    first, second = _connector(creds, tls, hub), _connector(creds, tls, hub)
    _expire_tokens(qb_control)
    first.count("Customer")
    second.count("Customer")
    assert (first.tokens.refreshes, second.tokens.refreshes) == (1, 0)
    assert hub.token("quickbooks", creds["QUICKBOOKS_REALM_ID"]).version == 1
    assert second.client.session.access_token == first.client.session.access_token


@pytest.mark.parametrize("shared_lock", [True, False], ids=["one-process", "two-processes"])
def test_concurrent_refreshers_end_with_one_valid_stored_pair(creds, qb_control, tls, db_url, shared_lock):
    """Input: four connectors (each in its own thread, on SQLite and PostgreSQL) hit the expired token at once;
    with `two-processes` each has its own lock, so only the store's compare-and-swap and the vendor's
    invalid_grant keep them apart. Expect every call to succeed, exactly one rotation stored, and the stored
    refresh token accepted by the vendor."""
    hub = Hub(db_url)
    hub.migrate()
    try:
        connectors = [_connector(creds, tls, hub, **({} if shared_lock else {"token_lock": threading.Lock()}))
                      for _ in range(4)]
        _expire_tokens(qb_control)
        barrier = threading.Barrier(len(connectors))
        results: list[object] = []

        def run(qb: QuickBooksConnector) -> None:
            barrier.wait()
            try:
                results.append(qb.count("Customer"))
            except Exception as error:  # collected so the assertion below shows it
                results.append(error)

        threads = [threading.Thread(target=run, args=(qb,)) for qb in connectors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert results == [0, 0, 0, 0]
        assert sum(qb.tokens.refreshes for qb in connectors) == 1
        stored = hub.token("quickbooks", creds["QUICKBOOKS_REALM_ID"])
        assert stored.version == 1
        assert {qb.client.session.access_token for qb in connectors} == {stored.access_token}
        assert _refresh_at_vendor(qb_control, creds, stored.refresh_token).status_code == 200
    finally:
        hub.dispose()


def test_rejected_refresh_raises_instead_of_looping(creds, qb_control, tls, hub):
    """Input: an expired token and a wrong client secret. Expect TokenRefreshError after a single 401."""
    qb = _connector(creds, tls, hub, client_secret="not-the-secret")
    _expire_tokens(qb_control)
    with pytest.raises(TokenRefreshError, match="HTTP 401"):
        qb.count("Customer")
    assert qb.response_stats.by_status[401] == 1
    assert hub.token("quickbooks", creds["QUICKBOOKS_REALM_ID"]) is None


def test_connector_without_access_token_starts_from_the_refresh_token(creds, qb_control, tls):
    """Input: only client id/secret and refresh token, no store. Expect the first call to refresh and work."""
    qb = _connector(creds, tls, None, access_token=None)
    assert qb.count("Customer") == 0
    assert qb.tokens.refreshes == 1
