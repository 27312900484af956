"""Fault profiles: what goes wrong between a client and the vendor, on purpose and reproducibly.

A profile says how often each fault happens; a FaultInjector draws from a random generator seeded
by the sandbox seed and the profile name, so the same client making the same requests meets the
same faults in the same places. Faults touch vendor paths only, never the /_sandbox/ control API.

The HTTP-level faults live here and in sandboxes/http.py; the body of each injected error is the
vendor's own (each sandbox's `fault_response`), because clients recognise throttling and expired
tokens by those bodies.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

# Kinds of injected response a sandbox must be able to render in its vendor's shape.
RATE_LIMIT = "rate_limit"
SERVER_ERROR = "server_error"
EXPIRED_TOKEN = "expired_token"
RESPONSE_KINDS = (RATE_LIMIT, SERVER_ERROR, EXPIRED_TOKEN)

# What can happen to a response after the request was processed.
DROP = "drop_after_commit"
TRUNCATE = "truncated_body"


@dataclass(frozen=True)
class FaultProfile:
    name: str
    description: str
    latency_ms: int = 0  # added to every vendor request
    latency_jitter_ms: int = 0  # plus a uniform 0..jitter
    # 429 storms happen in time, as a real limiter's do (another integration on the same account, the vendor
    # lowering limits under load): quiet spells of `storm_gap_s` seconds on average (exponential, seeded),
    # then `storm_s` seconds in which only `storm_rate` requests a second get through (0: none); the rest get
    # the vendor's 429, with Retry-After (whole seconds until one would get through) when `retry_after`.
    storm_gap_s: float = 0.0  # 0: no storms
    storm_s: float = 0.0
    storm_rate: float = 0.0
    retry_after: bool = False
    server_error: float = 0.0  # vendor 5xx before processing (nothing written)
    expired_token: float = 0.0  # the vendor's expired-token 401
    drop_after_commit: float = 0.0  # writes only: processed and committed, then the connection drops
    truncated_body: float = 0.0  # the response body is cut short, then the connection closes
    webhook_duplicate: float = 0.0  # a webhook delivery is sent twice
    webhook_reorder: float = 0.0  # a webhook delivery is held back and sent after the next one

    def as_dict(self) -> dict:
        return asdict(self)


PROFILES: dict[str, FaultProfile] = {
    profile.name: profile
    for profile in (
        FaultProfile("none", "no faults: the vendor on a good day"),
        FaultProfile("slow", "150 ms of added latency per request (plus up to 50 ms jitter)",
                     latency_ms=150, latency_jitter_ms=50),
        FaultProfile("storm", "429 storms in time: about every 4 s, 2 s in which 5 requests a second get through; "
                     "the rest get the vendor's 429 with Retry-After",
                     storm_gap_s=4.0, storm_s=2.0, storm_rate=5.0, retry_after=True),
        FaultProfile("storm-bare", "the same storms, bare 429s (Stripe and QuickBooks document no Retry-After)",
                     storm_gap_s=4.0, storm_s=2.0, storm_rate=5.0),
        FaultProfile("flaky", "5xx, dropped connections after committed writes and truncated bodies",
                     server_error=0.05, drop_after_commit=0.05, truncated_body=0.03),
        FaultProfile("expiring", "access tokens expire under the client now and then", expired_token=0.05),
        FaultProfile("webhooks", "webhooks duplicated and delivered out of order",
                     webhook_duplicate=0.3, webhook_reorder=0.3),
        FaultProfile("chaos", "all of the above at once, at lower rates",
                     latency_ms=5, latency_jitter_ms=20, storm_gap_s=10.0, storm_s=0.5, server_error=0.03,
                     expired_token=0.01, drop_after_commit=0.03, truncated_body=0.02,
                     webhook_duplicate=0.1, webhook_reorder=0.1),
    )
}


def profile_named(name: str | FaultProfile | None) -> FaultProfile:
    if name is None:
        return PROFILES["none"]
    if isinstance(name, FaultProfile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown fault profile {name!r}; choose from {', '.join(PROFILES)}") from None


class FaultInjector:
    """Decides, per vendor request, which fault (if any) it meets. Thread-safe and seeded."""

    def __init__(self, profile: FaultProfile, seed: int, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.profile = profile
        self._rng = random.Random(f"{seed}:{profile.name}")
        self._lock = threading.Lock()
        self._sleep = sleep
        self._clock = clock
        self.injected: Counter[str] = Counter()
        self._storm_start = math.inf
        if profile.storm_gap_s > 0 and profile.storm_s > 0:
            self._storm_start = clock() + self._rng.expovariate(1 / profile.storm_gap_s)
        self._storm_tokens = 0.0  # the storm's own bucket (capacity 1: no bursts while it lasts)
        self._storm_updated = self._storm_start

    def _chance(self, probability: float) -> bool:
        return probability > 0 and self._rng.random() < probability

    def before(self, method: str) -> str | None:
        """Latency, then the kind of error response to send instead of processing, if any."""
        return self.decide(method)[0]

    def decide(self, method: str) -> tuple[str | None, int | None]:
        """`before`, with the Retry-After (whole seconds) a throttled answer carries, when the profile sends one."""
        with self._lock:
            delay = self.profile.latency_ms
            if self.profile.latency_jitter_ms:
                delay += self._rng.uniform(0, self.profile.latency_jitter_ms)
            kind, hint = None, None
            wait = self._storm_wait(self._clock())
            if wait is not None:
                kind = RATE_LIMIT
                hint = max(1, math.ceil(wait)) if self.profile.retry_after else None
            elif self._chance(self.profile.server_error):
                kind = SERVER_ERROR
            elif self._chance(self.profile.expired_token):
                kind = EXPIRED_TOKEN
            if kind:
                self.injected[kind] += 1
        if delay:
            self._sleep(delay / 1000)
        return kind, hint

    def in_storm(self, now: float) -> bool:
        self._advance_storms(now)
        return self._storm_start <= now

    def _advance_storms(self, now: float) -> None:
        # Storms that ended unseen still happened: step over them, each followed by its own quiet spell.
        while now >= self._storm_start + self.profile.storm_s:
            self._storm_start += self.profile.storm_s + self._rng.expovariate(1 / self.profile.storm_gap_s)
            self._storm_tokens, self._storm_updated = 0.0, self._storm_start

    def _storm_wait(self, now: float) -> float | None:
        """None when the request gets through; else seconds until one would (the storm's end at the latest)."""
        if not self.in_storm(now):
            return None
        end = self._storm_start + self.profile.storm_s
        rate = self.profile.storm_rate
        if rate <= 0:
            return end - now
        self._storm_tokens = min(1.0, self._storm_tokens + (now - self._storm_updated) * rate)
        self._storm_updated = now
        if self._storm_tokens >= 1:
            self._storm_tokens -= 1
            return None
        return min(end - now, (1 - self._storm_tokens) / rate)

    def after(self, method: str) -> str | None:
        """What happens to the response of a processed request: dropped, truncated, or nothing."""
        with self._lock:
            if method in WRITE_METHODS and self._chance(self.profile.drop_after_commit):
                self.injected[DROP] += 1
                return DROP
            if self._chance(self.profile.truncated_body):
                self.injected[TRUNCATE] += 1
                return TRUNCATE
        return None

    def duplicate_webhook(self) -> bool:
        with self._lock:
            hit = self._chance(self.profile.webhook_duplicate)
            self.injected["webhook_duplicate"] += hit
            return hit

    def reorder_webhook(self) -> bool:
        with self._lock:
            hit = self._chance(self.profile.webhook_reorder)
            self.injected["webhook_reorder"] += hit
            return hit

    def report(self) -> dict:
        return {"profile": self.profile.name, "injected": dict(self.injected)}
