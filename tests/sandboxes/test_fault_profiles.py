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
    """Input: the chaos profile, 300 POSTs at one instant of a fixed clock, seeds 7, 7 and 8 (no real sleeping)."""
    profile = profile_named("chaos")
    first = _decisions(FaultInjector(profile, 7, sleep=lambda s: None, clock=lambda: 0.0))
    again = _decisions(FaultInjector(profile, 7, sleep=lambda s: None, clock=lambda: 0.0))
    other = _decisions(FaultInjector(profile, 8, sleep=lambda s: None, clock=lambda: 0.0))
    assert first == again
    assert first != other
    assert any(before for before, _ in first) and any(after for _, after in first)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _storm_injector(clock: _Clock, **storm) -> FaultInjector:
    profile = FaultProfile("t", "t", storm_gap_s=4.0, storm_s=2.0, **storm)
    clock.now = 0.0  # each injector's storms are timed from its start: the same seed, the same windows
    return FaultInjector(profile, 1, sleep=lambda s: None, clock=clock)


def _throttled_at(injector: FaultInjector, clock: _Clock, moments: list[float]) -> list[tuple[float, int | None]]:
    found = []
    for moment in moments:
        clock.now = moment
        kind, hint = injector.decide("GET")
        if kind == RATE_LIMIT:
            found.append((moment, hint))
    return found


def test_a_storm_is_a_window_of_time_with_retry_after_to_its_end():
    """Input: storms of 2 s in which nothing gets through, with Retry-After; a request every 50 ms for 30 s
    -> 429s only inside windows of at most 2 s, each Retry-After the whole seconds left of its window."""
    clock = _Clock()
    injector = _storm_injector(clock, storm_rate=0.0, retry_after=True)
    throttled = _throttled_at(injector, clock, [n * 0.05 for n in range(600)])
    assert throttled, "30 s with storms every ~4 s met none"
    windows = [[throttled[0]]]
    for moment, hint in throttled[1:]:
        if moment - windows[-1][-1][0] > 0.051:
            windows.append([])
        windows[-1].append((moment, hint))
    assert len(windows) >= 3
    for window in windows:
        start = window[0][0]
        assert window[-1][0] - start < 2.0
        for moment, hint in window:
            assert 1 <= hint <= 2 and hint >= (start + 1.95 - moment)  # rounded up, never short of the end


def test_waiting_ends_a_storm_and_some_requests_get_through_it():
    """Input: storms of 2 s admitting 5 requests a second. The same 40 requests sent 10 ms apart from the
    first throttled one, or 250 ms apart -> hammering meets many 429s, waiting meets few (the storm is time,
    not a count of requests); within a storm about 5 requests a second get through."""
    clock = _Clock()
    first = _throttled_at(_storm_injector(clock, storm_rate=5.0), clock, [n * 0.01 for n in range(2000)])[0][0]
    hammered = _throttled_at(_storm_injector(clock, storm_rate=5.0), clock, [first + n * 0.01 for n in range(40)])
    patient = _throttled_at(_storm_injector(clock, storm_rate=5.0), clock, [first + n * 0.25 for n in range(40)])
    assert len(hammered) >= 35 and len(patient) <= 8
    admitted_in_storm = 200 - len(_throttled_at(_storm_injector(clock, storm_rate=5.0), clock,
                                                [first + n * 0.01 for n in range(200)]))
    assert 8 <= admitted_in_storm <= 11  # 2 s at 5/s, the first token a fifth of a second in


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
    """Input: an hour-long storm letting nothing through; a POST gets the vendor's 429 with Retry-After, and
    nothing is stored."""
    sandbox.inject_faults(FaultProfile("all429", "x", storm_gap_s=1e-9, storm_s=3600, retry_after=True), seed=1)
    with _client(tls) as client:
        response = client.post(f"{sandbox.base_url}/v1/items", json={"name": "x"})
        assert response.status_code == 429
        assert response.json() == {"error": {"kind": RATE_LIMIT}}
        assert 3500 <= int(response.headers["Retry-After"]) <= 3600  # the fault layer adds the header
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
