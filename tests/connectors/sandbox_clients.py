"""Clients the connector tests build on a running sandbox: the connector under test, and (for Salesforce) the
sandbox's /_sandbox/ control API. Plain functions and one class; the fixtures that use them are in conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.quickbooks import QuickBooksConnector
from connectors.salesforce import SalesforceConnector, build_session

SALESFORCE_API = "/services/data/v59.0"
COUNT_ACCOUNTS = f"{SALESFORCE_API}/query?q=SELECT+COUNT()+FROM+Account"


def quickbooks_connector(sandbox, tls, **settings) -> QuickBooksConnector:
    """A QuickBooksConnector on the sandbox's access token, trusting its CA; retries wait 10 ms, not 0.5 s."""
    creds = sandbox.credentials()
    settings.setdefault("retry_wait_seconds", 0.01)
    return QuickBooksConnector(creds["QUICKBOOKS_BASE_URL"], creds["QUICKBOOKS_REALM_ID"],
                               creds["QUICKBOOKS_ACCESS_TOKEN"], ca_bundle=str(tls.bundle_path), **settings)


def salesforce_connector(sandbox, **settings) -> SalesforceConnector:
    """A SalesforceConnector on the sandbox's access token, trusting its CA (`sandbox.bundle`)."""
    creds = sandbox.credentials()
    return SalesforceConnector(creds["SALESFORCE_INSTANCE_URL"], creds["SALESFORCE_ACCESS_TOKEN"], sandbox.bundle,
                               **settings)


class SalesforceControl:
    """The Salesforce sandbox's /_sandbox/ API (not the vendor API), and a plain API client standing for the people
    and other integrations that share the org's limits."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.session = build_session(sandbox.bundle)

    def reset(self) -> SalesforceControl:
        self.session.post(self.sandbox.base_url + "/_sandbox/reset", timeout=10).raise_for_status()
        return self

    def get(self, path: str):
        return self.session.get(self.sandbox.base_url + path, timeout=10).json()

    def post(self, path: str, body) -> dict:
        response = self.session.post(self.sandbox.base_url + path, json=body, timeout=10)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def requests(self) -> list[dict]:
        return self.get("/_sandbox/requests")

    def insert_accounts(self, rows: list[dict]) -> list[str]:
        response = self.session.post(self.sandbox.base_url + "/_sandbox/accounts", json=rows, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()["ids"]

    def now_stamp(self) -> str:
        """The sandbox clock as a SystemModstamp."""
        now = self.get("/_sandbox/clock")["now"]
        return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    def advance(self, seconds: int) -> None:
        self.post("/_sandbox/clock", {"advance_seconds": seconds})

    def oauth(self) -> dict:
        return self.get("/_sandbox/oauth")

    def limits(self, **settings) -> dict:
        return self.post("/_sandbox/limits", settings) if settings else self.get("/_sandbox/limits")

    def someone_else_calls(self, path: str = COUNT_ACCOUNTS) -> int:
        """One API call by another client of the org (not through the connector); its status."""
        headers = {"Authorization": f"Bearer {self.sandbox.access_token}"}
        return self.session.get(self.sandbox.base_url + path, headers=headers, timeout=30).status_code
