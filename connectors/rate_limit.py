"""One rate limiter per vendor account, shared by every thread and process of a run.

The limits are the vendors' published ones. The bucket lives in a small SQLite file keyed by the
vendor and a hash of the account (never the secret itself), guarded by a file lock, so Dagster
steps running in separate processes draw from the same allowance instead of each assuming it has
the whole quota. Without a directory the bucket is in memory: shared by threads, not processes.

Under that ceiling each account also keeps an adaptive pace (connectors.adaptive_rate): the session
reports every answer to `AccountLimiter.observe`, a 429 lowers the pace (and a Retry-After pauses the
account), successes raise it back. The published limit is never exceeded; after a 429 the account sends
less than it, for a while.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyrate_limiter import AbstractBucket, Duration, InMemoryBucket, Limiter, Rate, SQLiteBucket

from connectors.adaptive_rate import Aimd, SharedPace
from connectors.retry import retry_after_seconds

# Published limits (requests). Salesforce limits by daily quota and concurrent long requests,
# which the connector reads from Sforce-Limit-Info instead of a per-second rate.
VENDOR_RATES: dict[str, list[Rate]] = {
    "stripe-test": [Rate(25, Duration.SECOND)],
    "stripe-live": [Rate(100, Duration.SECOND)],
    "quickbooks": [Rate(10, Duration.SECOND), Rate(500, Duration.MINUTE)],
}

_UNITS = {"s": Duration.SECOND, "min": Duration.MINUTE, "h": Duration.HOUR, "d": Duration.DAY}

_limiters: dict[tuple[str, str, str, str], AccountLimiter] = {}
_lock = threading.Lock()


class AccountLimiter(Limiter):
    """pyrate-limiter's Limiter over the vendor's bucket, after the account's adaptive pace."""

    def __init__(self, bucket: AbstractBucket, pace: SharedPace) -> None:
        super().__init__(bucket)
        self.pace = pace

    def try_acquire(self, name: str = "pyrate", weight: int = 1, blocking: bool = True,
                    timeout: int | float = -1) -> Any:
        if blocking:
            self.pace.wait_turn()
        return super().try_acquire(name, weight, blocking, timeout)

    def observe(self, status: int, headers: Mapping[str, str] | None) -> None:
        """One answer of the vendor: a 429 slows the account (and pauses it for a Retry-After), a success
        speeds it up again. Other failures say nothing about the rate."""
        if status == 429:
            self.pace.throttled(retry_after_seconds(headers))
        elif status < 400:
            self.pace.succeeded()


def requests_per_second(rates: list[Rate]) -> float:
    """The tightest of the rates as requests a second: [10/s, 500/min] -> 8.33."""
    return min(rate.limit * 1000 / rate.interval for rate in rates)


def account_key(*parts: str) -> str:
    """A stable, non-secret name for an account (e.g. from an API key or a realm id)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def stripe_rates_name(api_key: str) -> str:
    return "stripe-live" if api_key.startswith(("sk_live_", "rk_live_")) else "stripe-test"


def parse_rates(spec: str) -> list[Rate]:
    """"10/s,500/min" -> [Rate(10, second), Rate(500, minute)]; units s, min, h, d."""
    rates = []
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        count, _, unit = part.partition("/")
        if not count.strip().isdigit() or unit.strip() not in _UNITS:
            raise ValueError(f"bad rate {part!r}: write it like 10/s or 500/min")
        rates.append(Rate(int(count), _UNITS[unit.strip()]))
    return rates


def rates_or_default(spec: str | None, rates_name: str) -> list[Rate]:
    """The configured override, or the vendor's published limits."""
    return parse_rates(spec) if spec else VENDOR_RATES[rates_name]


def limiter_for(rates_name: str, account: str, directory: str | Path | None = None,
                rates: list[Rate] | None = None) -> AccountLimiter:
    """The process-wide limiter of one vendor account; file-backed when `directory` is given."""
    chosen = rates or VENDOR_RATES[rates_name]
    key = (rates_name, account, str(directory or ""), repr(chosen))
    with _lock:
        if key not in _limiters:
            aimd = Aimd.for_ceiling(requests_per_second(chosen))
            if directory is None:
                bucket: AbstractBucket = InMemoryBucket(chosen)
                pace = SharedPace(aimd)
            else:
                folder = Path(directory).resolve()
                folder.mkdir(parents=True, exist_ok=True)
                bucket = SQLiteBucket.init_from_file(
                    chosen, table="rate_bucket", db_path=str(folder / f"{rates_name}-{account}.sqlite"),
                    use_file_lock=True,
                )
                pace = SharedPace(aimd, folder / f"{rates_name}-{account}.pace")
            _limiters[key] = AccountLimiter(bucket, pace)
        return _limiters[key]
