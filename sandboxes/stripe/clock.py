"""The sandbox clock: wall time plus an offset that only moves forward.

Object timestamps, token expiry, idempotency-key pruning, event retention and subscription
cycles all read this clock, so a test can jump a month ahead with POST /_sandbox/clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SandboxClock:
    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._wall() + self._offset

    def now(self) -> int:
        return int(self())

    def advance(self, seconds: float) -> int:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    @property
    def offset(self) -> float:
        return self._offset

    def set_offset(self, offset: float) -> None:
        """Restore a saved offset (a snapshot's); never behind the current one, as the clock only moves forward."""
        with self._lock:
            self._offset = max(self._offset, offset)

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
