"""Stripe's basic rate limiter: per API key, separate read and write buckets (test mode 25/s each,
live 100/s). A token bucket on wall time: the sandbox clock does not refill it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

TEST_MODE_PER_SECOND = 25.0
LIVE_MODE_PER_SECOND = 100.0


class TokenBucket:
    def __init__(self, per_second: float, wall: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._wall = wall
        self._tokens = per_second
        self._updated = wall()

    def take(self) -> bool:
        now = self._wall()
        self._tokens = min(self.per_second, self._tokens + (now - self._updated) * self.per_second)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class RateLimiter:
    """`per_second=None` turns limiting off."""

    def __init__(self, per_second: float | None = TEST_MODE_PER_SECOND) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, bool], TokenBucket] = {}
        self.per_second = per_second

    def configure(self, per_second: float | None) -> None:
        with self._lock:
            self.per_second = per_second
            self._buckets.clear()

    def allow(self, api_key: str, write: bool) -> bool:
        with self._lock:
            if self.per_second is None:
                return True
            bucket = self._buckets.get((api_key, write))
            if bucket is None:
                bucket = self._buckets[(api_key, write)] = TokenBucket(self.per_second)
            return bucket.take()
