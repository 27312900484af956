"""The org limits a client meets: the rolling 24-hour API request quota (reported on every answer
in `Sforce-Limit-Info: api-usage=N/M`) and the cap on concurrent long-running requests.

Both answer 403 REQUEST_LIMIT_EXCEEDED, with the messages Salesforce uses for each.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime, timedelta

from sandboxes.salesforce.clock import SandboxClock
from sandboxes.salesforce.errors import ApiError

DEFAULT_DAILY_API_REQUESTS = 15_000  # a Developer Edition org's allocation
DEFAULT_MAX_LONG_REQUESTS = 25  # production orgs: 25 requests running 20 s or more
DEFAULT_LONG_REQUEST_SECONDS = 20.0
_WINDOW = timedelta(hours=24)


class ApiUsage:
    def __init__(self, clock: SandboxClock, daily_limit: int = DEFAULT_DAILY_API_REQUESTS) -> None:
        self._clock = clock
        self.daily_limit = daily_limit
        self._lock = threading.Lock()
        self._calls: deque[datetime] = deque()

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def used(self) -> int:
        with self._lock:
            self._expire(self._clock.now())
            return len(self._calls)

    def record(self) -> None:
        """Count one API call, or refuse it when the last 24 hours already used the whole quota."""
        now = self._clock.now()
        with self._lock:
            self._expire(now)
            if len(self._calls) >= self.daily_limit:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self._calls.append(now)

    def header(self) -> str:
        return f"api-usage={self.used()}/{self.daily_limit}"

    def _expire(self, now: datetime) -> None:
        while self._calls and now - self._calls[0] >= _WINDOW:
            self._calls.popleft()


class LongRequests:
    """Tracks requests in flight (real time, not the sandbox clock: it is about how long they run).

    `request_seconds` makes every admitted request take at least that long (real seconds) before it
    answers, so tests can have requests overlap; `peak` is the most that were ever in flight at once
    since the last `reset_peak`, which is how a test sees what a client's concurrency really was."""

    def __init__(self, max_long: int = DEFAULT_MAX_LONG_REQUESTS,
                 threshold_seconds: float = DEFAULT_LONG_REQUEST_SECONDS, request_seconds: float = 0.0) -> None:
        self.max_long = max_long
        self.threshold_seconds = threshold_seconds
        self.request_seconds = request_seconds
        self._lock = threading.Lock()
        self._started: dict[int, float] = {}
        self._next = 0
        self.peak = 0

    def in_flight(self) -> int:
        with self._lock:
            return len(self._started)

    def reset_peak(self) -> None:
        with self._lock:
            self.peak = len(self._started)

    def hold(self) -> None:
        """Keep an admitted request running for `request_seconds` (no-op at 0)."""
        if self.request_seconds > 0:
            time.sleep(self.request_seconds)

    def begin(self) -> int:
        """Admit a request (or refuse it while too many long ones run); returns its ticket for `end`."""
        now = time.monotonic()
        with self._lock:
            running_long = sum(1 for started in self._started.values() if now - started >= self.threshold_seconds)
            if running_long >= self.max_long:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
            self._next += 1
            self._started[self._next] = now
            self.peak = max(self.peak, len(self._started))
            return self._next

    def end(self, ticket: int) -> None:
        with self._lock:
            self._started.pop(ticket, None)
