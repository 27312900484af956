"""OAuth refresh with rotating refresh tokens, persisted by compare-and-swap in a token store.

QuickBooks (Intuit) kills a refresh token the moment it issues the next pair. So a refresh must be
stored before anyone else can use the old pair, and two refreshers must never both believe they won:

- inside one process, refreshers of one account take turns (a lock per account) and the second one
  finds the pair the first stored and simply uses it;
- across processes, the store saves a pair only if its version is still the one read (store.tokens);
  a loser either gets `invalid_grant` from the vendor (its refresh token was just rotated away) or loses
  the compare-and-swap, and in both cases re-reads the store and uses the winner's pair.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import requests

# Intuit's production token endpoint; the sandbox (and discovery) can name another.
INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"


class StoredPair(Protocol):
    access_token: str
    refresh_token: str
    version: int


class TokenStore(Protocol):
    """What a refresher needs from the hub (store.hub.Hub satisfies it)."""

    def token(self, system: str, account: str) -> StoredPair | None: ...

    def save_token(self, system: str, account: str, access_token: str, refresh_token: str, expires_at: datetime,
                   expected_version: int | None) -> bool: ...


class TokenRefreshError(RuntimeError):
    """The vendor refused the refresh and no other refresher left a usable pair in the store."""


@dataclass
class _MemoryPair:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    version: int


class MemoryTokenStore:
    """A process-local store, for a connector built without the hub (the pair then dies with the process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pairs: dict[tuple[str, str], _MemoryPair] = {}

    def token(self, system: str, account: str) -> _MemoryPair | None:
        with self._lock:
            return self._pairs.get((system, account))

    def save_token(self, system: str, account: str, access_token: str, refresh_token: str, expires_at: datetime,
                   expected_version: int | None) -> bool:
        with self._lock:
            current = self._pairs.get((system, account))
            if (current.version if current else None) != expected_version:
                return False
            self._pairs[(system, account)] = _MemoryPair(access_token, refresh_token, (expected_version or 0) + 1)
            return True


_ACCOUNT_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_ACCOUNT_LOCKS_GUARD = threading.Lock()


def account_lock(system: str, account: str) -> threading.Lock:
    """The one lock every refresher of this account in this process shares."""
    with _ACCOUNT_LOCKS_GUARD:
        return _ACCOUNT_LOCKS.setdefault((system, account), threading.Lock())


def discover_token_url(discovery_url: str, session: requests.Session) -> str:
    """The `token_endpoint` of an OpenID discovery document (Intuit: .well-known/openid_configuration)."""
    response = session.get(discovery_url, timeout=30)
    response.raise_for_status()
    return response.json()["token_endpoint"]


class RotatingTokens:
    """The current access token of one account, and a refresh that rotates the pair safely."""

    def __init__(
        self,
        system: str,
        account: str,
        *,
        client_id: str,
        client_secret: str,
        token_url: str,
        session: requests.Session,
        store: TokenStore | None = None,
        initial_access_token: str | None = None,
        initial_refresh_token: str | None = None,
        lock: threading.Lock | None = None,
        lost_race_wait_seconds: float = 2,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`initial_*`: the configured pair, used only until the store holds one (the stored pair is
        newer: a configured refresh token is dead after the first rotation). `lock`: defaults to the
        process-wide lock of the account; give each instance its own to model separate processes."""
        self.system, self.account = system, account
        self.client_id, self.client_secret = client_id, client_secret
        self.token_url = token_url
        self.session = session
        self.store: TokenStore = store if store is not None else MemoryTokenStore()
        self._initial_refresh_token = initial_refresh_token
        self._lock = lock if lock is not None else account_lock(system, account)
        self._lost_race_wait_seconds = lost_race_wait_seconds
        self._clock = clock
        self.refreshes = 0  # refreshes this instance performed (not adopted from another refresher)
        stored = self.store.token(system, account)
        self.access_token: str | None = stored.access_token if stored is not None else initial_access_token

    def refresh(self, rejected_access_token: str | None) -> str:
        """A fresh access token, after the vendor rejected `rejected_access_token`.

        If the store already holds another access token, someone refreshed since we read it: use theirs.
        """
        with self._lock:
            stored = self.store.token(self.system, self.account)
            if stored is not None and stored.access_token != rejected_access_token:
                self.access_token = stored.access_token
                return stored.access_token
            refresh_token = stored.refresh_token if stored is not None else self._initial_refresh_token
            if not refresh_token:
                raise TokenRefreshError(f"{self.system}: access token rejected and no refresh token configured")
            expected_version = stored.version if stored is not None else None
            body = self._grant(refresh_token)
            if body is None:  # invalid_grant: another process rotated this refresh token away
                return self._adopt_winner(expected_version)
            expires_at = self._clock() + timedelta(seconds=int(body.get("expires_in", 3600)))
            saved = self.store.save_token(self.system, self.account, body["access_token"], body["refresh_token"],
                                          expires_at, expected_version)
            if not saved:
                # Another refresher stored first; both pairs are valid at the vendor right now, but only
                # the stored one will be rotated on from here, so everyone uses that one.
                return self._adopt_winner(expected_version)
            self.refreshes += 1
            self.access_token = body["access_token"]
            return self.access_token

    def _grant(self, refresh_token: str) -> dict[str, Any] | None:
        response = self.session.post(
            self.token_url,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(self.client_id, self.client_secret),
            headers={"Accept": "application/json"},
            timeout=30,
        )
        if response.status_code == 400 and _oauth_error(response) == "invalid_grant":
            return None
        if response.status_code != 200:
            raise TokenRefreshError(f"{self.system}: token refresh failed with HTTP {response.status_code} "
                                    f"({_oauth_error(response) or 'no OAuth error code'})")
        return response.json()

    def _adopt_winner(self, expected_version: int | None) -> str:
        """Wait briefly for the refresher that beat us to store its pair, then use it."""
        deadline = time.monotonic() + self._lost_race_wait_seconds
        while True:
            stored = self.store.token(self.system, self.account)
            if stored is not None and stored.version != expected_version:
                self.access_token = stored.access_token
                return stored.access_token
            if time.monotonic() >= deadline:
                raise TokenRefreshError(f"{self.system}: refresh token rejected (invalid_grant) and no newer pair "
                                        "was stored; re-authorise the connection")
            time.sleep(1 / 20)  # poll the store while the winner commits


def _oauth_error(response: requests.Response) -> str | None:
    try:
        return str(response.json().get("error"))
    except ValueError:
        return None
