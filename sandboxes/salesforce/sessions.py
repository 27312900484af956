"""OAuth 2.0 for the sandbox org: the token endpoint (password and client-credentials flows) and
session checks.

A Salesforce session times out after a period of inactivity (the org's "Timeout value", 2 hours by
default): every authorised call keeps it alive, and a call after the timeout (on the sandbox clock)
gets 401 INVALID_SESSION_ID. The token the sandbox hands out in `credentials()` is an ordinary
session and follows the same rule.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import string
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sandboxes.salesforce.clock import SandboxClock
from sandboxes.salesforce.ids import make_id

DEFAULT_SESSION_TIMEOUT = 2 * 3600
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class OAuthClient:
    """The connected app and integration user a client authenticates with."""

    client_id: str
    client_secret: str
    username: str
    password: str  # password followed by the user's security token, as the password flow expects

    @classmethod
    def for_seed(cls, seed: int) -> OAuthClient:
        rng = random.Random(f"salesforce-connected-app-{seed}")
        client_id = "3MVG9" + "".join(rng.choice(_ALPHABET + "._") for _ in range(80))
        client_secret = "".join(rng.choice(string.hexdigits.upper()[:16]) for _ in range(64))
        token = "".join(rng.choice(_ALPHABET) for _ in range(24))
        return cls(client_id, client_secret, "integration@concord.sandbox", "Sandbox-Pass-1" + token)


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


class Sessions:
    def __init__(self, clock: SandboxClock, client: OAuthClient, org_id: str, initial_token: str,
                 timeout_seconds: int = DEFAULT_SESSION_TIMEOUT) -> None:
        self._clock = clock
        self._client = client
        self._org_id = org_id
        self._initial_token = initial_token
        self.timeout = timedelta(seconds=timeout_seconds)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._last_activity: dict[str, datetime] = {self._initial_token: self._clock.now()}
            self._counter = 0

    def is_valid(self, token: str) -> bool:
        """True for a live session, which this call keeps alive; expired sessions are forgotten."""
        now = self._clock.now()
        with self._lock:
            for known in self._last_activity:
                if hmac.compare_digest(known, token):
                    if now - self._last_activity[known] > self.timeout:
                        del self._last_activity[known]
                        return False
                    self._last_activity[known] = now
                    return True
        return False

    def grant(self, form: dict[str, list[str]], instance_url: str) -> dict[str, Any]:
        """The token endpoint's answer to a form-encoded grant request; raises OAuthError."""
        def field(name: str) -> str:
            values = form.get(name)
            return values[0] if values else ""

        grant_type = field("grant_type")
        if grant_type not in ("password", "client_credentials"):
            raise OAuthError(400, "unsupported_grant_type", "grant type not supported")
        if not hmac.compare_digest(field("client_id"), self._client.client_id):
            raise OAuthError(400, "invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(field("client_secret"), self._client.client_secret):
            raise OAuthError(400, "invalid_client", "invalid client credentials")
        if grant_type == "password" and not (
            hmac.compare_digest(field("username"), self._client.username)
            and hmac.compare_digest(field("password"), self._client.password)
        ):
            raise OAuthError(400, "invalid_grant", "authentication failure")
        return self._issue(instance_url, grant_type)

    def _issue(self, instance_url: str, grant_type: str) -> dict[str, Any]:
        now = self._clock.now()
        with self._lock:
            self._counter += 1
            rng = random.Random(f"{self._initial_token}-{self._counter}")
            token = f"{self._org_id[:15]}!" + "".join(rng.choice(_ALPHABET + "._") for _ in range(96))
            self._last_activity[token] = now
        issued_at = str(int(now.timestamp() * 1000))
        identity = f"{instance_url}/id/{self._org_id}/{make_id('005', 1)}"
        signature = base64.b64encode(
            hmac.new(self._client.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        body: dict[str, Any] = {
            "access_token": token,
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
        }
        if grant_type == "client_credentials":
            body["scope"] = "api"
        return body
