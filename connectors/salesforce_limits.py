"""Salesforce's org limits, kept by the one requests session every call of the connector goes through.

Salesforce has no per-second rate limit; it meters an org two ways, both shared with the people and
every other integration of that org:

- The daily API request quota (a rolling 24 hours). Every REST answer reports the org's count in
  `Sforce-Limit-Info: api-usage=N/M`; the session reads it from each one, so any connector knows the
  org-wide figure after its first call, whoever else spent the rest. Concord keeps a reserve
  (`CONCORD_SALESFORCE_QUOTA_RESERVE`, a fraction of M) for them: a call that would eat into it is
  refused before it is sent, with SalesforceQuotaError. Calls in flight count as spent, so threads
  of one connector cannot overshoot together; until the first answer tells the figure, one call at
  a time goes out. Spent means 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.": it
  frees up over hours, so it is never retried.
- Concurrent long-running requests (25 per production org, each running 20 s or more). A per-org
  semaphore, shared by every connector of the process (keyed by the instance's origin), bounds the
  query requests Concord has in flight; a REQUEST_LIMIT_EXCEEDED "ConcurrentPerOrgLongTxn Limit
  exceeded." (others filled the org's slots) is retried with exponential backoff and jitter.

The process-wide semaphore does not span processes: Dagster steps in separate processes each have
their own, which is why the default bound (5) stays far below the org's 25.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from simple_salesforce import SalesforceRefusedRequest

from connectors.http_session import PinnedSession, ResponseStats

QUOTA_RESERVE_ENV = "CONCORD_SALESFORCE_QUOTA_RESERVE"
DEFAULT_QUOTA_RESERVE = 0.1
DEFAULT_MAX_CONCURRENT_QUERIES = 5
LIMIT_ERROR = "REQUEST_LIMIT_EXCEEDED"

_API_PATH = re.compile(r"/services/data/v[0-9.]+/")
# REST query, queryAll and their nextRecordsUrl pages; Bulk API 2.0 result pages (large CSV downloads).
_QUERY_PATH = re.compile(r"/services/data/v[0-9.]+/(?:query|queryAll)(?:/|$)|/jobs/query/[^/]+/results/?$")
_API_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")
_PROBE_WAIT = 120.0  # seconds a call waits for the first answer to tell the quota before going anyway


class SalesforceQuotaError(RuntimeError):
    """The org's daily API quota is (nearly) spent: Concord stops instead of taking what others need."""

    def __init__(self, used: int | None, limit: int | None, reserve: int, refused: str | None = None) -> None:
        self.used, self.limit, self.reserve, self.refused = used, limit, reserve, refused
        figures = f"{used} of {limit} used" if used is not None and limit is not None else "usage unknown"
        if refused is None:
            message = (f"Salesforce daily API quota nearly spent: {figures}; "
                       f"keeping {reserve} for people and other integrations")
        else:
            message = (f"Salesforce daily API quota spent: Salesforce refused the call ({LIMIT_ERROR}: {refused}); "
                       f"{figures}; it frees up over the rolling 24 hours, so the call is not retried")
        super().__init__(message)


@dataclass(frozen=True)
class Backoff:
    """Sends in all (the first included), and the exponential waits between them (seconds, jittered)."""

    attempts: int = 6
    first_wait: float = 2.0
    max_wait: float = 60.0


def parse_limit_info(value: str | None) -> tuple[int, int] | None:
    """(used, limit) from `api-usage=N/M` (other parts, e.g. per-app-api-usage, ignored); None if absent."""
    match = _API_USAGE.search(value or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def reserve_fraction_from_env(environ: Mapping[str, str] | None = None) -> float:
    text = (os.environ if environ is None else environ).get(QUOTA_RESERVE_ENV, "").strip()
    return float(text) if text else DEFAULT_QUOTA_RESERVE


class ApiQuota:
    """The org's daily API usage as the latest answer reported it, and the share Concord keeps clear."""

    def __init__(self, reserve_fraction: float = DEFAULT_QUOTA_RESERVE) -> None:
        if not 0 <= reserve_fraction < 1:
            raise ValueError(f"the quota reserve is a fraction of the daily quota, 0 <= r < 1, not {reserve_fraction}")
        self.reserve_fraction = reserve_fraction
        self.used: int | None = None
        self.limit: int | None = None
        self._in_flight = 0
        self._answered = False  # some answer came back (with or without the header)
        self._changed = threading.Condition()

    @property
    def reserve(self) -> int:
        return math.ceil(self.limit * self.reserve_fraction) if self.limit is not None else 0

    @contextmanager
    def call(self) -> Iterator[dict[str, Any]]:
        """Admit one API call (or raise SalesforceQuotaError); the caller puts the answer's headers
        in the yielded dict, and the figures are updated from them when the call ends."""
        self._admit()
        answer: dict[str, Any] = {}
        try:
            yield answer
        finally:
            self._settle(answer.get("headers"))

    def _admit(self) -> None:
        with self._changed:
            # Until the first answer, one call at a time: a burst of threads on a new connector must not
            # spend blind what the reserve is there to keep.
            self._changed.wait_for(lambda: self._answered or self._in_flight == 0, timeout=_PROBE_WAIT)
            if self.limit is not None and self.used is not None \
                    and self.used + self._in_flight >= self.limit - self.reserve:
                raise SalesforceQuotaError(self.used, self.limit, self.reserve)
            self._in_flight += 1

    def _settle(self, headers: Mapping[str, str] | None) -> None:
        figures = parse_limit_info(headers.get("Sforce-Limit-Info")) if headers is not None else None
        with self._changed:
            self._in_flight -= 1
            self._answered = self._answered or headers is not None
            if figures is not None:
                self.used, self.limit = figures
            self._changed.notify_all()


class SalesforceResponseStats(ResponseStats):
    """ResponseStats plus the org's daily API usage, for an asset's MaterializeResult metadata."""

    def __init__(self, quota: ApiQuota) -> None:
        super().__init__()
        self.quota = quota

    def as_metadata(self) -> dict[str, int]:
        metadata = super().as_metadata()
        if self.quota.limit is not None and self.quota.used is not None:
            metadata.update(api_usage=self.quota.used, api_limit=self.quota.limit)
        return metadata


_gates: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_gates_lock = threading.Lock()


def org_gate(origin: str, bound: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore bounding query requests in flight to one org (keyed by its origin)."""
    key = (origin.lower(), bound)
    with _gates_lock:
        if key not in _gates:
            _gates[key] = threading.BoundedSemaphore(bound)
        return _gates[key]


class SalesforceSession(PinnedSession):
    """The pinned session, metering every REST API call against the org's quota and bounding the
    queries in flight per org. Other paths (the OAuth token endpoint) are not API calls."""

    quota: ApiQuota | None = None
    max_concurrent_queries: int | None = DEFAULT_MAX_CONCURRENT_QUERIES

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(str(url))
        if self.quota is None or not _API_PATH.match(parts.path):
            return super().request(method, url, *args, **kwargs)
        bound = self.max_concurrent_queries
        gate = org_gate(f"{parts.scheme}://{parts.netloc}", bound) \
            if bound and _QUERY_PATH.search(parts.path) else nullcontext()
        with self.quota.call() as answer, gate:
            response = super().request(method, url, *args, **kwargs)
            answer["headers"] = response.headers
            return response


def limit_error_message(error: BaseException) -> str | None:
    """The message of a 403 REQUEST_LIMIT_EXCEEDED answer, None for any other error."""
    if not isinstance(error, SalesforceRefusedRequest):
        return None
    content = error.content
    for entry in content if isinstance(content, list) else [content]:
        if isinstance(entry, dict) and entry.get("errorCode") == LIMIT_ERROR:
            return str(entry.get("message") or "")
    return None


def is_concurrency_limit(error: BaseException) -> bool:
    """Too many long-running requests in the org right now (ConcurrentPerOrgLongTxn, ConcurrentRequests):
    they finish within minutes, so the call is worth sending again after a wait."""
    message = limit_error_message(error)
    return message is not None and "concurrent" in message.lower()


def quota_error(error: BaseException, quota: ApiQuota) -> SalesforceQuotaError | None:
    """SalesforceQuotaError for any other REQUEST_LIMIT_EXCEEDED (TotalRequests: the daily quota is spent)."""
    message = limit_error_message(error)
    if message is None or "concurrent" in message.lower():
        return None
    return SalesforceQuotaError(quota.used, quota.limit, quota.reserve, refused=message or "no message")
