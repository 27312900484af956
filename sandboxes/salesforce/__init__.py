"""A local Salesforce org: REST API v59.0 (SOQL query, sObject rows, upsert by external id) over HTTPS.

Start it with `SalesforceSandbox(build_seed(), tls=create_local_ca(dir)).start()` and point a client at
`credentials()`. State is in memory and seeded from SeedData; /_sandbox/ holds the control API.
"""

from __future__ import annotations

from sandboxes.http import SandboxServer, ServedSandbox
from sandboxes.salesforce.api import SalesforceApi
from sandboxes.salesforce.ids import access_token_for
from sandboxes.salesforce.state import SalesforceState
from sandboxes.seed import SeedData
from sandboxes.tls import LocalCA

__all__ = ["SalesforceSandbox"]


class SalesforceSandbox(ServedSandbox):
    def __init__(self, seed: SeedData, tls: LocalCA | None = None, port: int = 0) -> None:
        self.state = SalesforceState(seed)
        self.access_token = access_token_for(seed.seed)
        api = SalesforceApi(self.state, self.access_token)
        self._server = SandboxServer("salesforce", api.router(), tls, port, not_found=api.not_found)

    def credentials(self) -> dict[str, str]:
        return {"SALESFORCE_INSTANCE_URL": self.base_url, "SALESFORCE_ACCESS_TOKEN": self.access_token}
