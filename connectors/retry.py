"""One retry policy for every connector: exponential backoff with jitter, or exactly the vendor's hint.

Each connector says which failures are worth retrying (throttling, 5xx, dropped or truncated
connections) and, where the vendor sends one, how long it asked us to wait (Retry-After). Writes
are only retried because each carries an idempotency key (Stripe Idempotency-Key, QuickBooks
requestid, Salesforce upsert by external id), so a retry after a lost answer writes nothing twice.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception

T = TypeVar("T")
# Attempts a throttled call gets: storms can follow one another (the sandboxes' `storm` profiles bring one every few
# seconds, as a busy account meets them), and with waits capped at the connector's longest this is minutes of patience
# before a call gives up; a read that gives up is a failed run, never a silent gap.
THROTTLE_ATTEMPTS = 20
MAX_HINTED_WAIT = 120.0  # a Retry-After beyond two minutes is waited as two minutes, then asked again
_rng = random.Random()
log = logging.getLogger("concord.connectors.retry")

# Transport failures every vendor can cause: refused/dropped connections, timeouts, and bodies cut
# short (requests reports a Content-Length mismatch as ChunkedEncodingError).
TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def is_transport_error(error: BaseException) -> bool:
    return isinstance(error, TRANSPORT_ERRORS)


def retry_wait(attempt: int, retry_after: float | None, initial: float, maximum: float,
               rng: random.Random = _rng) -> float:
    """Seconds to wait before retrying after failed attempt number `attempt` (1 = the first one).

    A server-given Retry-After is waited exactly, with nothing added: it knows when it will answer, and the
    account's limiter pauses every thread until then too. Without one: exponential from `initial`, capped at
    `maximum`, with "equal jitter" (half fixed, half random) so concurrent callers spread out while the first
    retry stays short; the limiter's pace, lowered by the 429, spaces the retries of a whole account."""
    if retry_after is not None:
        return min(max(0.0, retry_after), MAX_HINTED_WAIT)
    ceiling = min(maximum, initial * 2 ** max(0, attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def _wait(initial: float, maximum: float, retry_after: Callable[[BaseException], float | None] | None):
    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hinted = retry_after(error) if retry_after and error is not None else None
        return retry_wait(state.attempt_number, hinted, initial, maximum)

    return wait


def call_with_retries(
    operation: Callable[[], T],
    is_retryable: Callable[[BaseException], bool],
    *,
    attempts: int = 4,
    initial_wait: float = 0.5,
    max_wait: float = 30.0,
    retry_after: Callable[[BaseException], float | None] | None = None,
    what: str = "vendor call",
    throttled: Callable[[BaseException], bool] | None = None,
    throttle_attempts: int = THROTTLE_ATTEMPTS,
) -> T:
    """Run `operation`, retrying what `is_retryable` accepts; the last error is raised unchanged.

    Throttling (what `throttled` recognises) has a budget of its own, `throttle_attempts`: a vendor's 429
    storm outlasts the few attempts a failing server deserves, and waiting it out costs only time."""

    def limit(error: BaseException | None) -> int:
        if throttled is not None and error is not None and throttled(error):
            return max(attempts, throttle_attempts)
        return max(1, attempts)

    def stop(state: RetryCallState) -> bool:
        return state.attempt_number >= limit(state.outcome.exception() if state.outcome else None)

    def note(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        outcome = "was throttled" if throttled is not None and error is not None and throttled(error) else "failed"
        # One line per retry, whatever the vendor put in its message (QuickBooks quotes a whole XML body).
        message = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        log.warning("%s %s (attempt %d of %d): %s; retrying", what, outcome, state.attempt_number, limit(error),
                    message)

    retrying = Retrying(
        stop=stop,
        wait=_wait(initial_wait, max_wait, retry_after),
        retry=retry_if_exception(is_retryable),
        before_sleep=note,
        reraise=True,
    )
    return retrying(operation)


def retry_after_seconds(headers) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form); None when absent or a date."""
    value = (headers or {}).get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None
