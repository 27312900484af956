"""QuickBooks sandbox OAuth (discovery, refresh-token rotation, access-token expiry), throttling, the sandbox
clock and injected fault responses; OAuth is driven through intuitlib's AuthClient and python-quickbooks."""

from __future__ import annotations

import json

import httpx
import pytest
from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.exceptions import AuthorizationException
from quickbooks.objects.item import Item

from sandboxes.http import Request
from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.quickbooks.server import FAULT_KINDS
from sandboxes.seed import build_seed
from tests.sandboxes.quickbooks_clients import body, fault_code, xml_fault


@pytest.fixture
def auth_client(qb_api, qb_sandbox, tls, monkeypatch) -> AuthClient:
    # intuitlib fetches the discovery document in its constructor with a plain requests session, so the
    # sandbox CA has to reach it through the environment, as it would for any requests-based tool.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.bundle_path))
    creds = qb_sandbox.credentials()
    return AuthClient(creds["QUICKBOOKS_CLIENT_ID"], creds["QUICKBOOKS_CLIENT_SECRET"], "https://localhost/callback",
                      environment=qb_sandbox.base_url + "/.well-known/openid_sandbox_configuration")


def test_discovery_document_points_at_the_sandbox(auth_client, qb_sandbox):
    """Input: AuthClient built on the sandbox's discovery URL -> its token and revoke endpoints are the sandbox's."""
    assert auth_client.token_endpoint == qb_sandbox.base_url + "/oauth2/v1/tokens/bearer"
    assert auth_client.revoke_endpoint.startswith(qb_sandbox.base_url)


def test_refresh_rotates_the_refresh_token(auth_client, qb_sandbox):
    """Input: refresh with credentials()' refresh token twice (second time the same, now dead, token), then with the
    new one -> new access and refresh tokens, then invalid_grant, then success again."""
    original = qb_sandbox.credentials()["QUICKBOOKS_REFRESH_TOKEN"]
    auth_client.refresh(refresh_token=original)
    assert auth_client.access_token and auth_client.refresh_token not in (None, original)
    assert auth_client.expires_in == 3600 and auth_client.x_refresh_token_expires_in == 8726400
    with pytest.raises(AuthClientError) as refused:
        auth_client.refresh(refresh_token=original)
    assert refused.value.status_code == 400 and json.loads(refused.value.content) == {"error": "invalid_grant"}
    auth_client.refresh()
    assert auth_client.access_token


def test_wrong_client_secret_is_invalid_client(qb_sandbox, tls, monkeypatch):
    """Input: a refresh with the right refresh token but a wrong client secret -> 401 invalid_client."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.bundle_path))
    creds = qb_sandbox.credentials()
    client = AuthClient(creds["QUICKBOOKS_CLIENT_ID"], "not-the-secret", "https://localhost/callback",
                        environment=qb_sandbox.base_url + "/.well-known/openid_sandbox_configuration")
    with pytest.raises(AuthClientError) as refused:
        client.refresh(refresh_token=creds["QUICKBOOKS_REFRESH_TOKEN"])
    assert refused.value.status_code == 401 and json.loads(refused.value.content) == {"error": "invalid_client"}


def test_sdk_session_from_refresh_token_and_access_token_expiry(auth_client, qb_sandbox, qb_http):
    """Input: python-quickbooks started from auth_client + refresh token (it refreshes itself), an Item query,
    then the sandbox clock moved 3600 s -> the same access token gets 401 'Token expired'."""
    client = QuickBooks(auth_client=auth_client, refresh_token=qb_sandbox.credentials()["QUICKBOOKS_REFRESH_TOKEN"],
                        company_id=qb_sandbox.realm_id, minorversion=75)
    client.api_url_v3 = qb_sandbox.base_url + "/v3"
    assert [item.Name for item in Item.all(qb=client)] == ["Services"]
    qb_http.post("/_sandbox/clock", json={"advance_seconds": 3600}).raise_for_status()
    with pytest.raises(AuthorizationException) as expired:
        Item.all(qb=client)
    error = json.loads(expired.value.detail)["fault"]["error"][0]
    assert error["code"] == "3200" and error["detail"].startswith("Token expired: ")
    auth_client.refresh()  # the refresh token is still good: a new hour starts
    client.session.token = {"access_token": auth_client.access_token, "token_type": "Bearer"}
    assert len(Item.all(qb=client)) == 1


def test_initial_token_can_be_made_to_expire(tls):
    """Input: a sandbox built with expire_initial_token=True, its clock moved one hour -> credentials()' token 401."""
    server = QuickBooksSandbox(build_seed(), tls=tls, expire_initial_token=True).start()
    try:
        with httpx.Client(base_url=server.base_url, verify=str(tls.bundle_path)) as client:
            headers = {"Authorization": "Bearer " + server.access_token}
            path = f"/v3/company/{server.realm_id}/item/1"
            assert client.get(path, headers=headers).status_code == 200
            client.post("/_sandbox/clock", json={"advance_seconds": 3600})
            expired = client.get(path, headers=headers)
            assert expired.status_code == 401
            # The gateway's envelope, key for key as QuickBooks sends it for an expired token.
            fault = body(expired)
            assert set(fault) == {"warnings", "intuitObject", "fault", "report", "queryResponse", "batchItemResponse",
                                  "attachableResponse", "syncErrorResponse", "requestId", "time", "status",
                                  "cdcresponse"}
            assert fault["fault"] == {"type": "AUTHENTICATION", "error": [{
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired: " + server.access_token, "code": "3200", "element": None}]}
            assert isinstance(fault["time"], int)
    finally:
        server.stop()


def test_throttle_per_second_and_per_minute(qb_api, qb_http):
    """Input: throttling set to 5/min and 3/s; 4 quick reads, clock +2 s, 2 more reads, clock +60 s, 1 read
    -> the 4th and the 6th get QuickBooks' 429 ThrottleExceeded fault; the clock frees the windows."""
    qb_http.post("/_sandbox/throttle", json={"per_minute": 5, "per_second": 3}).raise_for_status()
    try:
        statuses = [qb_api.get("/item/1").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        throttled = qb_api.get("/item/1")
        # In XML, though the client asked for JSON, as QuickBooks answers throttling.
        assert throttled.headers["content-type"] == "application/xml"
        error = xml_fault(throttled)
        assert (error["code"], error["type"], error["Message"]) == (
            "3001", "SERVICE", "message=ThrottleExceeded; errorCode=003001; statusCode=429")
        assert error["Detail"] == "The request limit was reached.  Try again later"
        qb_http.post("/_sandbox/clock", json={"advance_seconds": 2})
        assert [qb_api.get("/item/1").status_code for _ in range(3)] == [200, 200, 429]  # 5 per minute reached
        qb_http.post("/_sandbox/clock", json={"advance_seconds": 60})
        assert qb_api.get("/item/1").status_code == 200
    finally:
        qb_http.post("/_sandbox/throttle", json={"enabled": False}).raise_for_status()


def test_clock_reads_and_advances(qb_http):
    """Input: GET /_sandbox/clock, POST advance 86400, GET again -> unix seconds, one day later."""
    before = qb_http.get("/_sandbox/clock").json()["now"]
    assert isinstance(before, int)
    after = qb_http.post("/_sandbox/clock", json={"advance_seconds": 86400}).json()["now"]
    assert 86400 <= after - before <= 86410
    assert qb_http.post("/_sandbox/clock", json={"advance_seconds": -5}).status_code == 400


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fault_response_kinds(qb_sandbox, kind):
    """Input: fault_response(kind) for rate_limit, server_error, expired_token -> QuickBooks' status, a Fault body
    (XML for the 429) with its code, and an intuit_tid header."""
    request = Request("GET", f"/v3/company/{qb_sandbox.realm_id}/item/1", {}, {}, b"")
    response = qb_sandbox.fault_response(kind, request)
    expected = {"rate_limit": (429, "3001", "SERVICE"), "server_error": (500, "10000", "SystemFault"),
                "expired_token": (401, "3200", "AUTHENTICATION")}[kind]
    if kind == "rate_limit":  # throttling is answered in XML, as QuickBooks does
        fault = xml_fault(httpx.Response(response.status, content=response.body))
        assert (response.status, fault["code"], fault["type"]) == expected
    else:
        fault = json.loads(response.body)
        envelope = fault.get("Fault") or fault["fault"]  # 401s come in the gateway's lower-case envelope
        errors = envelope.get("Error") or envelope["error"]
        assert (response.status, errors[0]["code"], envelope["type"]) == expected
    assert fault["time"] and response.headers["intuit_tid"]
    with pytest.raises(ValueError):
        qb_sandbox.fault_response("meteor", request)


def test_every_answer_has_an_intuit_tid(qb_api):
    """Input: a good read and a bad one -> both carry a distinct intuit_tid header."""
    good, bad = qb_api.get("/item/1"), qb_api.get("/item/999")
    assert fault_code(bad) == "610"
    assert good.headers["intuit_tid"] and good.headers["intuit_tid"] != bad.headers["intuit_tid"]
