"""QuickBooks sandbox persistence: changes made over HTTPS survive snapshot -> JSON -> restore into a fresh
sandbox with the same seed, and ids continue without collision. Also reports construction time at scale."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest

from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.seed import build_seed
from tests.sandboxes.quickbooks_clients import Api, body, new_customer, new_invoice


def test_snapshot_restores_company_tokens_replays_and_clock(tls):
    """Input: on sandbox A a customer, a partly paid invoice, a write with requestid, a refresh-token rotation,
    a webhook registration and a day of clock; snapshot through json.dumps/loads into fresh sandbox B
    -> B serves the same records and balance, replays the requestid, accepts only the rotated refresh token,
    keeps the clock and the webhook, and the next customer gets a new id."""
    first = QuickBooksSandbox(build_seed(5), tls=tls).start()
    try:
        with httpx.Client(base_url=first.base_url, verify=str(tls.bundle_path), timeout=10) as http:
            api = Api(http, first)
            customer = new_customer(api, "Persistent Ltd")
            invoice = new_invoice(api, customer, ["40.00"])
            api.post("/payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": Decimal("15.00"), "Line": [
                {"Amount": Decimal("15.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]},
            ).raise_for_status()
            replayed = api.post("/customer", {"DisplayName": "Once Only Ltd"}, requestid="req-1")
            old_refresh = first.refresh_token
            rotated = http.post("/oauth2/v1/tokens/bearer", auth=(first.oauth.client_id, first.oauth.client_secret),
                                data={"grant_type": "refresh_token", "refresh_token": old_refresh}).json()
            http.post("/_sandbox/webhooks", json={"url": "http://127.0.0.1:9/hook", "entities": ["Invoice"]})
            clock = http.post("/_sandbox/clock", json={"advance_seconds": 86400}).json()["now"]
            saved = json.loads(json.dumps(first.snapshot()))
    finally:
        first.stop()

    second = QuickBooksSandbox(build_seed(5), tls=tls).start()
    try:
        second.restore(saved)
        with httpx.Client(base_url=second.base_url, verify=str(tls.bundle_path), timeout=10) as http:
            api = Api(http, second)
            assert body(api.get("/customer/" + customer["Id"]))["Customer"]["DisplayName"] == "Persistent Ltd"
            restored = body(api.get("/invoice/" + invoice["Id"]))["Invoice"]
            assert restored["Balance"] == Decimal("25.00") and restored["DocNumber"] == invoice["DocNumber"]
            again = api.post("/customer", {"DisplayName": "Once Only Ltd"}, requestid="req-1")
            assert again.content == replayed.content
            newer = new_customer(api, "After Restore Ltd")
            assert int(newer["Id"]) > int(body(replayed)["Customer"]["Id"])
            assert int(new_invoice(api, newer, ["1.00"])["DocNumber"]) > int(invoice["DocNumber"])
            token_url = "/oauth2/v1/tokens/bearer"
            client_auth = (second.oauth.client_id, second.oauth.client_secret)
            dead = http.post(token_url, auth=client_auth, data={"grant_type": "refresh_token",
                                                               "refresh_token": old_refresh})
            assert dead.status_code == 400 and dead.json() == {"error": "invalid_grant"}
            alive = http.post(token_url, auth=client_auth, data={"grant_type": "refresh_token",
                                                                "refresh_token": rotated["refresh_token"]})
            assert alive.status_code == 200 and alive.json()["access_token"] != rotated["access_token"]
            assert abs(http.get("/_sandbox/clock").json()["now"] - clock) <= 5
            assert [endpoint.url for endpoint in second.webhooks.endpoints] == ["http://127.0.0.1:9/hook"]
    finally:
        second.stop()


def test_restore_rejects_foreign_data(tls):
    """Input: restore() with a dict that is not a QuickBooks snapshot -> ValueError, state untouched."""
    sandbox = QuickBooksSandbox(build_seed(5), tls=tls)
    with pytest.raises(ValueError):
        sandbox.restore({"format": "concord-stripe-sandbox/1"})
    assert sandbox.company.records["Account"]


def test_construction_time_at_scale(tls):
    """Input: QuickBooksSandbox built from build_seed(scale=100) and (scale=1000). QuickBooks starts with its
    chart of accounts only (Concord's sync fills it), so the time is flat; printed, not asserted (-s shows it)."""
    for scale in (100, 1000):
        seed = build_seed(1, scale)
        started = time.perf_counter()
        sandbox = QuickBooksSandbox(seed, tls=tls)
        elapsed = time.perf_counter() - started
        print(f"quickbooks scale={scale}: constructed in {elapsed * 1000:.1f} ms")
        assert sandbox.company.records["Account"]
