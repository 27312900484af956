"""The requests sessions every connector's SDK sends through: pinned CA bundle, shared rate limit.

Every SDK Concord uses (stripe, simple-salesforce, python-quickbooks) sends its HTTP through a
requests session we hand it, so this is the one place where trust and pacing are decided.

Two things would silently drop the bundle a connector was told to trust (CONCORD_CA_BUNDLE):
requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override `Session.verify`
(psf/requests#3829), and stripe's RequestsClient passes the module-global `stripe.ca_bundle_path`
on every call. Pinning the bundle per request on the session keeps each client's trust its own.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Any

import requests
from pyrate_limiter import Limiter
from requests_oauthlib import OAuth2Session


class ResponseStats:
    """Every response a connector received, by status, and the requests that got none at all.

    Non-success responses are counted even when a retry recovered, so a run's metadata shows how
    rough the vendor was; the counts are per connector, i.e. per stream of an asset.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_status: Counter[int] = Counter()
        self.no_response = 0

    def record(self, status: int | None) -> None:
        with self._lock:
            if status is None:
                self.no_response += 1
            else:
                self.by_status[status] += 1

    @property
    def non_success(self) -> int:
        return self.no_response + sum(count for status, count in self.by_status.items() if status >= 400)

    def as_metadata(self) -> dict[str, int]:
        with self._lock:
            total = sum(self.by_status.values())
            return {"http_requests": total + self.no_response, "http_non_success": self.non_success,
                    "http_throttled": self.by_status.get(429, 0), "http_no_response": self.no_response}


class PinnedBundle:
    """Mixin for a requests.Session subclass: every request verifies against `ca_bundle` and, when
    a limiter is set, waits for a permit of the vendor account's shared rate limit first."""

    ca_bundle: str | None = None
    limiter: Limiter | None = None
    limit_name: str = "requests"
    stats: ResponseStats | None = None

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if self.ca_bundle and kwargs.get("verify") is not False:  # never re-enable what a caller turned off
            kwargs["verify"] = self.ca_bundle
        if self.limiter is not None:
            self.limiter.try_acquire(self.limit_name)  # blocks until the account may send again
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException:
            if self.stats is not None:
                self.stats.record(None)
            raise
        if self.stats is not None:
            self.stats.record(response.status_code)
        observe = getattr(self.limiter, "observe", None)
        if observe is not None:  # connectors.rate_limit.AccountLimiter: a 429 slows the account, successes speed it up
            observe(response.status_code, response.headers)
        return response


class PinnedSession(PinnedBundle, requests.Session):
    pass


class PinnedOAuth2Session(PinnedBundle, OAuth2Session):
    pass


def _proxies_configured() -> bool:
    return any(name.lower().endswith("_proxy") and value for name, value in os.environ.items())


def _bundle_from_environment() -> bool:
    return bool(os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"))


def configure(session: PinnedBundle, ca_bundle: str | None, limiter: Limiter | None = None) -> PinnedBundle:
    if ca_bundle:
        session.ca_bundle = session.verify = str(ca_bundle)
    if not _proxies_configured() and (ca_bundle or not _bundle_from_environment()):
        # requests re-reads the proxy variables of the whole environment on every request (a tenth of the
        # client CPU of a list page); with none set there is nothing to find. With any set (or, without a
        # bundle of ours, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE) requests keeps reading the environment.
        session.trust_env = False
    session.limiter = limiter
    session.stats = ResponseStats()
    return session


def session_trusting(ca_bundle: str | None, limiter: Limiter | None = None) -> requests.Session:
    """A session verifying against `ca_bundle` (system trust when None), paced by `limiter` if given."""
    return configure(PinnedSession(), ca_bundle, limiter)
