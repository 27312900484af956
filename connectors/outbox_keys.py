"""Idempotency keys for outbox rows, and the request ids sent for them.

A key is derived only from what the write is (system, entity, operation, canonical key), so a
retry of the same write, even from another process after a crash, finds the same outbox row.

What goes on the wire as QuickBooks' `requestid` is the key plus the row's *generation*: a token
fixed when the row is planned and stored in it, before any call. Every retry of that row sends the
same requestid (QuickBooks replays); a deliberate re-send after `forget_sync` (which deletes the row)
plans a new row with a new generation, so QuickBooks writes again instead of replaying the answer
about the copy that was deleted. QuickBooks caps `requestid` at 50 characters; longer ones are hashed
to fit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

MAX_KEY_LENGTH = 50
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def idempotency_key(entity: str, operation: str, canonical_key: str) -> str:
    readable = f"{entity}-{operation}-{canonical_key}"
    if len(readable) <= MAX_KEY_LENGTH and readable.isascii():
        return readable
    digest = hashlib.sha256(readable.encode("utf-8")).hexdigest()[:32]
    return f"{entity[:8]}-{operation[:6]}-{digest}"


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = _DIGITS[digit] + digits
        if number == 0:
            return digits


def new_generation(now: datetime | None = None) -> str:
    """A generation token for a row being planned: the planning instant in microseconds, base 36 (10 chars).

    Two plans of one record can only share an instant if they share the row (the key is unique), so
    the token tells deliberate re-sends apart; it is stored with the row, never recomputed."""
    moment = now or datetime.now(UTC)
    return _base36(int(moment.timestamp() * 1_000_000))


def request_id(key: str, generation: str | None) -> str:
    """The requestid of one row: `key.generation`, or a hashed form that keeps a readable prefix in 50 chars.
    Rows planned before generations existed (generation None) keep sending their bare key."""
    if not generation:
        return key
    readable = f"{key}.{generation}"
    if len(readable) <= MAX_KEY_LENGTH and readable.isascii():
        return readable
    digest = hashlib.sha256(readable.encode("utf-8")).hexdigest()[:8]
    prefix = key.encode("ascii", "replace").decode("ascii")[: MAX_KEY_LENGTH - len(generation) - len(digest) - 2]
    return f"{prefix}-{digest}.{generation}"


def derived_request_id(base: str, *parts: str) -> str:
    """A requestid for a follow-up send of one row (e.g. an update re-applied on a fresh SyncToken):
    deterministic in its parts, so a retry of that follow-up replays."""
    digest = hashlib.sha256("\n".join((base, *parts)).encode("utf-8")).hexdigest()[:12]
    return f"{base[: MAX_KEY_LENGTH - len(digest) - 1]}~{digest}"


def batch_request_id(items: Iterable[str]) -> str:
    """The requestid of a batch call: a digest of its items (each item's requestid and attempt), so the
    same batch retried after a lost answer replays, while a batch holding other items or a later attempt
    of the same items is a new request."""
    digest = hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()[:40]
    return f"batch-{digest}"
