"""Fault profiles: seeded, reproducible, vendor paths only, and faithful to what a client meets."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from sandboxes.faults import DROP, PROFILES, RATE_LIMIT, TRUNCATE, FaultInjector, FaultProfile, profile_named
from sandboxes.http import CONTROL_PREFIX, Request, Response, Router, SandboxServer, ServedSandbox


class _ItemSandbox(ServedSandbox):
    """A minimal vendor: POST /v1/items stores an item, GET /v1/items lists them."""

    def __init__(self, tls) -> None:
        self.items: list[dict] = []
        router = Router()
        router.add("POST", "/v1/items", self._create)
        router.add("GET", "/v1/items", lambda request: Response.json({"data": self.items}))
        router.add("GET", CONTROL_PREFIX + "/items", lambda request: Response.json(self.items))
        self._server = SandboxServer("items", router, tls)

    def _create(self, request: Request) -> Response:
        self.items.append(request.json())
        return Response.json({"id": len(self.items), "padding": "x" * 2000}, 201)

    def fault_response(self, kind: str, request: Request) -> Response:
        return Response.json({"error": {"kind": kind}}, 429 if kind == RATE_LIMIT else 503)


@pytest.fixture
def sandbox(tls):
    running = _ItemSandbox(tls).start()
    yield running
    running.stop()


def _client(tls) -> httpx.Client:
    return httpx.Client(verify=str(tls.bundle_path), timeout=5)


def _decisions(injector: FaultInjector, n: int = 300) -> list:
    return [(injector.before("POST"), injector.after("POST")) for _ in range(n)]


def test_the_same_seed_gives_the_same_faults_in_the_same_places():
    """Input: the chaos profile, 300 POSTs, seeds 7, 7 and 8 (no real sleeping)."""
    profile = profile_named("chaos")
    first = _decisions(FaultInjector(profile, 7, sleep=lambda s: None))
    again = _decisions(FaultInjector(profile, 7, sleep=lambda s: None))
    other = _decisions(FaultInjector(profile, 8, sleep=lambda s: None))
    assert first == again
    assert first != other
    assert any(before for before, _ in first) and any(after for _, after in first)


def test_a_storm_throttles_consecutive_requests():
    """Input: a profile where every storm lasts 4 requests; the first request starts one."""
    injector = FaultInjector(FaultProfile("t", "t", rate_limit=1.0, storm_length=4), 1, sleep=lambda s: None)
    assert [injector.before("GET") for _ in range(4)] == [RATE_LIMIT] * 4
    assert injector.report()["injected"][RATE_LIMIT] == 4


def test_unknown_profile_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="storm"):
        profile_named("thunder")
    assert {"none", "slow", "storm", "flaky", "expiring", "webhooks", "chaos"} <= set(PROFILES)


def test_dropped_connection_after_commit_loses_the_answer_but_keeps_the_write(sandbox, tls):
    """Input: every write's connection dropped after commit; one POST, then a read."""
    sandbox.inject_faults(FaultProfile("drop", "drop", drop_after_commit=1.0), seed=1)
    with _client(tls) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(f"{sandbox.base_url}/v1/items", json={"name": "only once"})
        assert client.get(f"{sandbox.base_url}/v1/items").json()["data"] == [{"name": "only once"}]
    assert sandbox.fault_injector.report()["injected"] == {DROP: 1}


def test_truncated_body_breaks_the_read(sandbox, tls):
    """Input: every response truncated to half its declared length."""
    sandbox.inject_faults(FaultProfile("cut", "cut", truncated_body=1.0), seed=1)
    with _client(tls) as client, pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{sandbox.base_url}/v1/items")
    assert sandbox.fault_injector.report()["injected"] == {TRUNCATE: 1}


def test_injected_errors_use_the_vendor_body_and_write_nothing(sandbox, tls):
    """Input: every request throttled; a POST gets the vendor's 429 and nothing is stored."""
    sandbox.inject_faults(FaultProfile("all429", "x", rate_limit=1.0, storm_length=1), seed=1)
    with _client(tls) as client:
        response = client.post(f"{sandbox.base_url}/v1/items", json={"name": "x"})
        assert response.status_code == 429
        assert response.json() == {"error": {"kind": RATE_LIMIT}}
        # the control API is never faulted
        assert client.get(f"{sandbox.base_url}{CONTROL_PREFIX}/items").json() == []


def test_latency_is_added_to_vendor_requests(sandbox, tls):
    """Input: 120 ms of added latency; one request timed."""
    sandbox.inject_faults(FaultProfile("slow", "slow", latency_ms=120), seed=1)
    with _client(tls) as client:
        started = time.perf_counter()
        client.get(f"{sandbox.base_url}/v1/items")
        assert time.perf_counter() - started >= 0.12


def test_profile_is_switched_and_reported_over_the_control_api(sandbox, tls):
    """Input: POST /_sandbox/fault-profile storm, then an unknown profile, then none."""
    with _client(tls) as client:
        url = f"{sandbox.base_url}{CONTROL_PREFIX}/fault-profile"
        assert client.post(url, json={"profile": "storm", "seed": 3}).json()["profile"] == "storm"
        assert client.get(url).json() == {"profile": "storm", "injected": {}}
        refused = client.post(url, json={"profile": "thunder"})
        assert refused.status_code == 400 and "unknown fault profile" in json.loads(refused.text)["error"]
        assert client.post(url, json={"profile": "none"}).json()["profile"] == "none"
    assert sandbox.fault_injector is None
