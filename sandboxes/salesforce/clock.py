"""The sandbox clock: the host's time plus an offset that tests move forward through /_sandbox/clock.

Every time the org reasons about (record stamps, session expiry, the 24-hour API quota window,
recycle-bin retention, getUpdated/getDeleted windows) comes from here, so advancing the clock
ages all of them together.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SandboxClock:
    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()
