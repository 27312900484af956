"""Stripe's idempotent requests: the first result for a key is stored and replayed.

A replay needs the same key *and* the same request (method, path, parameters); the same key
with anything else is an `idempotency_error`. Keys are forgotten after 24 hours, as at Stripe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

REPLAY_WINDOW_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255


def fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    return json.dumps([method, path, params], sort_keys=True)


@dataclass(frozen=True)
class StoredResult:
    fingerprint: str
    status: int
    body: bytes
    request_id: str
    stored_at: float


class IdempotencyStore:
    def __init__(self) -> None:
        self._results: dict[str, StoredResult] = {}

    def clear(self) -> None:
        self._results.clear()

    def lookup(self, key: str, now: float) -> StoredResult | None:
        stored = self._results.get(key)
        if stored is not None and now - stored.stored_at >= REPLAY_WINDOW_SECONDS:
            del self._results[key]
            return None
        return stored

    def store(self, key: str, result: StoredResult) -> None:
        self._results[key] = result

    def prune(self, now: float) -> int:
        """Drop every key older than the replay window (the sandbox clock decides); returns how many."""
        expired = [key for key, stored in self._results.items() if now - stored.stored_at >= REPLAY_WINDOW_SECONDS]
        for key in expired:
            del self._results[key]
        return len(expired)

    def items(self) -> list[tuple[str, StoredResult]]:
        return list(self._results.items())

    def __len__(self) -> int:
        return len(self._results)

    def expire_all(self) -> int:
        """Forget every key, as if the replay window had passed; returns how many were dropped."""
        count = len(self._results)
        self._results.clear()
        return count
