"""How many requests a concurrent read keeps in flight: as many as help, found by watching latency.

More requests in flight help only while the server (and this process) have room: against a vendor
150 ms away, eight or thirty-two overlapping requests read eight or thirty-two times as fast; against a
server that answers one request at a time, or a client short of CPU, every extra request only waits
in a queue, and threads contending for the interpreter cost CPU on top. The right number is not known
in advance, so it is measured, after the gradient limit of Netflix's `concurrency-limits` library:

- the best latency seen recently stands for "no queue";
- while the recent average stays within `tolerance` of it, the limit grows by one per answer (so it
  doubles every round trip, as TCP's slow start does), up to `maximum`;
- when the average rises beyond that, the limit shrinks in proportion, down to `minimum`;
- an average still three times the best for STALE_ANSWERS answers in a row with two or fewer in flight
  is no longer a queue of ours (two in flight cannot triple the latency): the vendor became slower for
  good (bigger pages, a busier hour), so that latency becomes the baseline and the limit grows back.

Latency here is the whole call, rate-limit waits and retries included: when the vendor's rate limit
or a 429 is what holds requests back, more of them in flight cannot help either.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

# How long the gradient may sit at its floor before the best latency counts as stale.
STALE_ANSWERS = 20
FLOOR = 0.5  # the most one answer can shrink the wanted limit by (half)


@dataclass
class AdaptiveConcurrency:
    initial: int = 2
    minimum: int = 1
    maximum: int = 8
    tolerance: float = 1.5  # an average this many times the best latency still counts as "no queue"
    smoothing: float = 0.2  # weight of each answer in the average latency and in the limit
    _limit: float = field(init=False)
    _best: float = field(init=False, default=math.inf)
    _average: float | None = field(init=False, default=None)
    _at_floor: int = field(init=False, default=0)
    peak: int = field(init=False, default=0)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.maximum:
            raise ValueError(f"need 1 <= minimum <= maximum, got {self.minimum} and {self.maximum}")
        self._limit = float(min(max(self.initial, self.minimum), self.maximum))
        self.peak = int(self._limit)

    @property
    def limit(self) -> int:
        """Requests to keep in flight now."""
        return int(self._limit)

    def observe(self, seconds: float) -> None:
        """Record one answer's latency and move the limit."""
        if seconds < 0 or math.isnan(seconds):
            return
        with self._lock:
            previous = self._average
            self._average = seconds if previous is None else previous + self.smoothing * (seconds - previous)
            self._best = min(self._best, seconds)
            gradient = self.tolerance * self._best / max(self._average, 1e-9)
            # At two in flight or fewer we cannot be the cause of a tripled latency (see the module docstring).
            self._at_floor = self._at_floor + 1 if gradient <= FLOOR and self._limit < 3 else 0
            if self._at_floor >= STALE_ANSWERS:
                self._best, self._at_floor, gradient = self._average, 0, 1.0
            if gradient >= 1.0:
                # No queue anywhere: one more per answer, so the limit doubles every round trip (TCP's slow
                # start) and a read of a few hundred pages reaches its workers in a handful of round trips.
                self._limit += 1
            else:
                # One request of headroom: against a server that answers one at a time this settles at two
                # in flight (one served, one queued behind it), where a square-root headroom settled at four.
                wanted = self._limit * max(FLOOR, gradient) + 1
                self._limit += self.smoothing * (wanted - self._limit)
            self._limit = max(float(self.minimum), min(float(self.maximum), self._limit))
            self.peak = max(self.peak, int(self._limit))
