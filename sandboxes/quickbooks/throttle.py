"""QuickBooks' per-realm throttles: 500 requests a minute, 10 a second, 40 batch requests a minute.

Sliding windows over the sandbox clock (so advancing the clock clears them). A request that is
refused does not count. Limits are attributes so tests can lower them instead of sending 500 requests.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PER_MINUTE = 500
PER_SECOND = 10
BATCH_PER_MINUTE = 40


@dataclass
class Throttle:
    per_minute: int = PER_MINUTE
    per_second: int = PER_SECOND
    batch_per_minute: int = BATCH_PER_MINUTE
    _calls: dict[str, deque[datetime]] = field(default_factory=dict)
    _batches: dict[str, deque[datetime]] = field(default_factory=dict)

    def admit(self, realm_id: str, now: datetime, batch: bool = False) -> bool:
        """True (and counted) when the request is within every limit."""
        calls = self._calls.setdefault(realm_id, deque())
        batches = self._batches.setdefault(realm_id, deque())
        for window in (calls, batches):
            while window and window[0] <= now - timedelta(minutes=1):
                window.popleft()
        last_second = sum(1 for moment in calls if moment > now - timedelta(seconds=1))
        if len(calls) >= self.per_minute or last_second >= self.per_second:
            return False
        if batch and len(batches) >= self.batch_per_minute:
            return False
        calls.append(now)
        if batch:
            batches.append(now)
        return True

    def reset(self) -> None:
        self._calls.clear()
        self._batches.clear()
