"""Deterministic idempotency keys for outbox rows.

A key is derived only from what the write is (system, entity, operation, canonical key), so a
retry of the same write, even from another process after a crash, sends the same key. QuickBooks
caps `requestid` at 50 characters; longer keys are hashed to fit.
"""

from __future__ import annotations

import hashlib

MAX_KEY_LENGTH = 50


def idempotency_key(entity: str, operation: str, canonical_key: str) -> str:
    readable = f"{entity}-{operation}-{canonical_key}"
    if len(readable) <= MAX_KEY_LENGTH and readable.isascii():
        return readable
    digest = hashlib.sha256(readable.encode("utf-8")).hexdigest()[:32]
    return f"{entity[:8]}-{operation[:6]}-{digest}"
