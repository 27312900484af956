"""A local Salesforce org over HTTPS: REST API v57-62 (SOQL query/queryAll, sObject rows, upsert by
external id, sObject Collections, getUpdated/getDeleted, describe), the OAuth token endpoint,
Bulk API 2.0, org limits, and injectable faults.

Start it with `SalesforceSandbox(build_seed(), tls=create_local_ca(dir)).start()` and point a client at
`credentials()`. State is in memory and seeded from SeedData; /_sandbox/ holds the control API.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandboxes.http import Request, Response, SandboxServer, ServedSandbox
from sandboxes.salesforce import persistence
from sandboxes.salesforce.api import SalesforceApi
from sandboxes.salesforce.bulk import BulkJobs, bulk_routes
from sandboxes.salesforce.clock import SandboxClock
from sandboxes.salesforce.control import control_routes
from sandboxes.salesforce.fault_bodies import fault_response
from sandboxes.salesforce.ids import access_token_for
from sandboxes.salesforce.limits import DEFAULT_DAILY_API_REQUESTS, ApiUsage, LongRequests
from sandboxes.salesforce.sessions import DEFAULT_SESSION_TIMEOUT, OAuthClient, Sessions
from sandboxes.salesforce.state import SalesforceState
from sandboxes.seed import SeedData
from sandboxes.tls import LocalCA

__all__ = ["SalesforceSandbox"]

# What POST /_sandbox/limits may set; GET also reports api_requests_used, in_flight and peak_in_flight
# (the most vendor requests ever in flight at once since the last reset).
LIMIT_SETTINGS = frozenset({"daily_api_requests", "session_timeout_seconds", "max_long_requests",
                            "long_request_seconds", "request_seconds"})


class SalesforceSandbox(ServedSandbox):
    def __init__(
        self,
        seed: SeedData,
        tls: LocalCA | None = None,
        port: int = 0,
        session_timeout: int = DEFAULT_SESSION_TIMEOUT,
        daily_api_requests: int = DEFAULT_DAILY_API_REQUESTS,
    ) -> None:
        self.clock = SandboxClock()
        self.state = SalesforceState(seed, self.clock)
        self.access_token = access_token_for(seed.seed)
        self.oauth_client = OAuthClient.for_seed(seed.seed)
        org_id = self.access_token.split("!", 1)[0]
        self.sessions = Sessions(self.clock, self.oauth_client, org_id, self.access_token, session_timeout)
        self.usage = ApiUsage(self.clock, daily_api_requests)
        self.long_requests = LongRequests()
        self._default_limits = self.limit_settings()
        self.bulk = BulkJobs(self.state)
        api = SalesforceApi(self.state, self.sessions, self.usage, self.long_requests, lambda: self.base_url)
        router = api.router(
            lambda api, add: bulk_routes(api, self.bulk, add),
            lambda api, add: control_routes(self, add),
        )
        self._server = SandboxServer("salesforce", router, tls, port, not_found=api.not_found)

    def credentials(self) -> dict[str, str]:
        return {"SALESFORCE_INSTANCE_URL": self.base_url, "SALESFORCE_ACCESS_TOKEN": self.access_token}

    def snapshot(self) -> dict:
        """The org's whole state as plain JSON (persistence.py), for `concord sandbox up --state FILE`."""
        return persistence.snapshot(self)

    def restore(self, data: dict) -> None:
        """Replace the org's state with a snapshot() of a sandbox built from the same seed."""
        persistence.restore(self, data)

    def fault_response(self, kind: str, request: Request) -> Response:
        """Salesforce's own answer for an injected fault: rate_limit, server_error or expired_token."""
        return fault_response(kind, request, self.usage.header())

    def reset(self) -> None:
        """Back to the seeded org: rows, sessions, API usage, bulk jobs and the clock."""
        self.clock.reset()
        self.state.reset()
        self.sessions.reset()
        self.usage.reset()
        self.bulk.reset()
        settings = {name: value for name, value in self._default_limits.items() if name in LIMIT_SETTINGS}
        self.configure_limits(**settings)
        self.long_requests.reset_peak()

    def configure_limits(self, **settings: Any) -> None:
        known = LIMIT_SETTINGS
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"unknown limit setting(s) {sorted(unknown)}; choose from {sorted(known)}")
        if "daily_api_requests" in settings:
            self.usage.daily_limit = int(settings["daily_api_requests"])
        if "session_timeout_seconds" in settings:
            self.sessions.timeout = timedelta(seconds=int(settings["session_timeout_seconds"]))
        if "max_long_requests" in settings:
            self.long_requests.max_long = int(settings["max_long_requests"])
        if "long_request_seconds" in settings:
            self.long_requests.threshold_seconds = float(settings["long_request_seconds"])
        if "request_seconds" in settings:
            self.long_requests.request_seconds = float(settings["request_seconds"])

    def limit_settings(self) -> dict[str, Any]:
        return {
            "daily_api_requests": self.usage.daily_limit,
            "api_requests_used": self.usage.used(),
            "session_timeout_seconds": int(self.sessions.timeout.total_seconds()),
            "max_long_requests": self.long_requests.max_long,
            "long_request_seconds": self.long_requests.threshold_seconds,
            "request_seconds": self.long_requests.request_seconds,
            "in_flight": self.long_requests.in_flight(),
            "peak_in_flight": self.long_requests.peak,
        }
