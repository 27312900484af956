"""An account's adaptive pace under the vendor's ceiling: AIMD after 429s, and the server's Retry-After.

The vendor's published limit stays a pyrate-limiter bucket (connectors.rate_limit); this adds a pace at or
below it. A 429 with a Retry-After pauses every thread of the account until then, exactly; a bare 429 (Stripe
and QuickBooks document no Retry-After) halves the pace, at most once a `hold` (the 429s of one overload are one
signal, not eight). Each success adds a fifth of the ceiling back, so a few good answers bring the account
to full speed again: a token bucket's storms end as suddenly as they start, and a slow climb would waste
the allowance they leave (bench_connectors' storm case measured both). Concurrent windows of one account
thus stop hammering a server that is refusing them, and never exceed the published limit.

The arithmetic is pure (`Aimd` over a `Pace`); `SharedPace` keeps the pace in memory for the threads
of a process, or in a small file under a file lock, so the processes of one run share it as they share
the bucket.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

T = TypeVar("T")
MAX_PAUSE_S = 120.0  # a longer Retry-After (or a pace file from another clock) is taken as this much


@dataclass(frozen=True)
class Pace:
    rate: float  # requests/s this account sends at now
    next_at: float = 0.0  # when the next request may go, at `rate`
    pause_until: float = 0.0  # the server's Retry-After, for every thread of the account
    last_cut: float = -1e18  # when the rate was last cut
    cuts: int = 0
    lowest: float = 0.0  # the lowest rate reached (for reports and tests)
    pauses: int = 0  # Retry-After pauses


@dataclass(frozen=True)
class Aimd:
    """Additive increase, multiplicative decrease between `floor` and `ceiling` requests/s."""

    ceiling: float
    floor: float
    cut: float = 0.5
    step: float = 0.0  # requests/s added per success; 0: a fifth of the ceiling
    hold: float = 1.0  # seconds after a cut in which further 429s cut no more

    @classmethod
    def for_ceiling(cls, ceiling: float) -> Aimd:
        return cls(ceiling=ceiling, floor=ceiling / 25, step=ceiling / 5)

    def start(self) -> Pace:
        return Pace(rate=self.ceiling, lowest=self.ceiling)

    def throttled(self, pace: Pace, now: float, retry_after: float | None = None) -> Pace:
        """A 429: with the server's Retry-After, the account waits exactly that (its rate unchanged: a cut on top
        would be a wait the server did not ask for); without one, the rate is cut."""
        if retry_after is not None:
            until = now + min(max(0.0, retry_after), MAX_PAUSE_S)
            return replace(pace, pause_until=max(pace.pause_until, until), pauses=pace.pauses + 1)
        if now - pace.last_cut < self.hold:
            return pace
        rate = max(self.floor, pace.rate * self.cut)
        return replace(pace, rate=rate, last_cut=now, cuts=pace.cuts + 1, lowest=min(pace.lowest, rate))

    def succeeded(self, pace: Pace) -> Pace:
        if pace.rate >= self.ceiling:
            return pace
        return replace(pace, rate=min(self.ceiling, pace.rate + (self.step or self.ceiling / 5)))

    def reserve(self, pace: Pace, now: float) -> tuple[Pace, float]:
        """Book the next send: (the new pace, seconds to wait before sending)."""
        pause_until = min(pace.pause_until, now + MAX_PAUSE_S)
        if pace.rate >= self.ceiling and pause_until <= now:
            return pace, 0.0  # at full speed the vendor's bucket alone paces (bursts as the vendor allows)
        start = max(now, min(pace.next_at, now + MAX_PAUSE_S), pause_until)
        return replace(pace, next_at=start + 1 / pace.rate), start - now


_PACE = struct.Struct("<5dqq")  # rate, next_at, pause_until, last_cut, lowest, cuts, pauses


class SharedPace:
    """One account's Pace: in memory (threads of a process) or in a file under a lock (processes of a run)."""

    def __init__(self, aimd: Aimd, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        # Wall time, not monotonic: a pace file outlives a reboot, when the monotonic clock starts again.
        self.aimd = aimd
        self.clock = clock
        self._path = path
        self._threads = threading.Lock()
        self._file_lock = FileLock(str(path) + ".lock") if path is not None else None
        self._pace = aimd.start()

    def _load(self) -> Pace:
        if self._path is None:
            return self._pace
        try:
            rate, next_at, pause_until, last_cut, lowest, cuts, pauses = _PACE.unpack(self._path.read_bytes())
        except (FileNotFoundError, struct.error):
            return self.aimd.start()
        return Pace(rate, next_at, pause_until, last_cut, cuts, lowest, pauses)

    def _store(self, pace: Pace) -> None:
        self._pace = pace
        if self._path is not None:
            self._path.write_bytes(_PACE.pack(pace.rate, pace.next_at, pace.pause_until, pace.last_cut,
                                              pace.lowest, pace.cuts, pace.pauses))

    def _update(self, change: Callable[[Pace], tuple[Pace, T]]) -> T:
        with self._threads:
            if self._file_lock is None:
                self._pace, result = change(self._pace)
                return result
            with self._file_lock:
                before = self._load()
                after, result = change(before)
                if after != before:
                    self._store(after)
                return result

    def wait_turn(self, sleep: Callable[[float], None] = time.sleep) -> float:
        """Block until this account may send at its pace; the seconds waited."""
        waited = 0.0
        while True:
            wait = self._update(lambda pace: self.aimd.reserve(pace, self.clock()))
            if wait <= 0:
                return waited
            sleep(wait)
            waited += wait
            # A Retry-After that arrived while this thread slept holds it too: book again after the pause.
            if self._update(lambda pace: (pace, pace.pause_until)) <= self.clock():
                return waited

    def throttled(self, retry_after: float | None) -> None:
        self._update(lambda pace: (self.aimd.throttled(pace, self.clock(), retry_after), 0.0))

    def succeeded(self) -> None:
        self._update(lambda pace: (self.aimd.succeeded(pace), 0.0))

    def report(self) -> dict[str, float]:
        """The pace now, the lowest it went, how often a bare 429 cut it and a Retry-After paused it."""
        pace = self._update(lambda pace: (pace, pace))
        return {"rate": pace.rate, "ceiling": self.aimd.ceiling, "lowest_rate": pace.lowest, "cuts": pace.cuts,
                "pauses": pace.pauses}
