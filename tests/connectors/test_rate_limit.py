"""The shared rate limiter: vendor limits by default, one bucket for every process of a run."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from pyrate_limiter import Duration, Rate

from connectors.http_session import session_trusting
from connectors.rate_limit import VENDOR_RATES, limiter_for, parse_rates
from sandboxes.http import Request, Response, Router, SandboxServer, ServedSandbox
from sandboxes.tls import create_local_ca

LIMIT = 10


class _StampSandbox(ServedSandbox):
    """Records when each request arrived."""

    def __init__(self, tls) -> None:
        self.stamps: list[float] = []
        router = Router()
        router.add("GET", "/v1/ping", self._ping)
        self._server = SandboxServer("stamps", router, tls)

    def _ping(self, request: Request) -> Response:
        self.stamps.append(time.monotonic())
        return Response.json({"ok": True})


def _hammer(base_url: str, ca_bundle: str, bucket_dir: str, count: int) -> None:
    limiter = limiter_for("test", "one-account", bucket_dir, rates=[Rate(LIMIT, Duration.SECOND)])
    session = session_trusting(ca_bundle, limiter)
    for _ in range(count):
        session.get(f"{base_url}/v1/ping", timeout=10).raise_for_status()


def _pairs(rates) -> list[tuple[int, int]]:
    return [(rate.limit, rate.interval) for rate in rates]


def test_parse_rates():
    assert _pairs(parse_rates("10/s, 500/min")) == [(10, Duration.SECOND), (500, Duration.MINUTE)]
    with pytest.raises(ValueError, match="10/s"):
        parse_rates("ten per second")
    assert _pairs(VENDOR_RATES["quickbooks"]) == [(10, Duration.SECOND), (500, Duration.MINUTE)]
    assert _pairs(VENDOR_RATES["stripe-test"]) == [(25, Duration.SECOND)]


def test_two_processes_share_one_account_limit(tmp_path: Path):
    """Input: two processes, 15 requests each, one account limited to 10 requests/s through a file bucket."""
    tls = create_local_ca(tmp_path / "ca")
    sandbox = _StampSandbox(tls).start()
    try:
        context = multiprocessing.get_context("spawn")
        workers = [context.Process(target=_hammer, args=(sandbox.base_url, str(tls.bundle_path),
                                                          str(tmp_path / "buckets"), 15)) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
            assert worker.exitcode == 0
    finally:
        sandbox.stop()
    stamps = sorted(sandbox.stamps)
    assert len(stamps) == 30
    busiest = max(sum(1 for t in stamps if start <= t < start + 0.9) for start in stamps)
    assert busiest <= LIMIT, f"{busiest} requests within 0.9 s, limit {LIMIT}/s"
    assert stamps[-1] - stamps[0] >= 1.8  # 30 requests at 10/s need at least two refills


def test_resources_apply_the_vendors_published_limits_by_default():
    """Input: resources with no rate-limit override; the connectors' sessions carry vendor limits."""
    from assets.resources import QuickBooksResource, StripeResource

    qb = QuickBooksResource(base_url="https://127.0.0.1:9", realm_id="1", access_token="t").connector()
    assert _pairs(qb.client.session.limiter.bucket_factory.bucket.rates) == _pairs(VENDOR_RATES["quickbooks"])
    stripe_connector = StripeResource(api_key="sk_live_x", rate_limit="").connector()
    session = stripe_connector._client._requestor._client._session
    assert _pairs(session.limiter.bucket_factory.bucket.rates) == _pairs(VENDOR_RATES["stripe-live"])
    overridden = QuickBooksResource(base_url="https://127.0.0.1:9", realm_id="2", access_token="t",
                                    rate_limit="3/s").connector()
    assert _pairs(overridden.client.session.limiter.bucket_factory.bucket.rates) == [(3, Duration.SECOND)]
