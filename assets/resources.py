"""Dagster resources: configuration from EnvVar, objects from the layers below.

Secrets arrive as EnvVar so the UI shows the variable's name, never its value. Optional settings
are empty strings when unset (the `concord` command guarantees the variables exist).
"""


from functools import lru_cache

from dagster import ConfigurableResource, EnvVar

from connectors.internal_db import InternalDatabase
from connectors.quickbooks import QuickBooksConnector
from connectors.rate_limit import rates_or_default, stripe_rates_name
from connectors.salesforce import SalesforceConnector
from connectors.stripe import StripeConnector
from reconciliation.notifiers import Notifier, build_notifiers
from store.hub import Hub


def _optional(value: str | None) -> str | None:
    return value or None


@lru_cache(maxsize=8)
def _migrated_hub(database_url: str) -> Hub:
    """One Hub (one engine, one pool) per database per process, migrated once."""
    hub = Hub(database_url)
    hub.migrate()
    return hub


class HubResource(ConfigurableResource):
    """The hub database (CONCORD_DATABASE_URL)."""

    database_url: str

    def hub(self) -> Hub:
        return _migrated_hub(self.database_url)


class StripeResource(ConfigurableResource):
    api_key: str
    api_base: str = ""
    ca_bundle: str = ""
    rate_limit: str = ""  # e.g. "25/s"; empty: Stripe's published limit for the key's mode
    rate_limit_dir: str = ""

    def connector(self) -> StripeConnector:
        return StripeConnector(
            self.api_key, _optional(self.api_base), _optional(self.ca_bundle),
            rate_limits=rates_or_default(self.rate_limit, stripe_rates_name(self.api_key)),
            rate_limit_dir=_optional(self.rate_limit_dir),
        )


class SalesforceResource(ConfigurableResource):
    instance_url: str
    access_token: str
    ca_bundle: str = ""

    def connector(self) -> SalesforceConnector:
        return SalesforceConnector(self.instance_url, self.access_token, _optional(self.ca_bundle))


class QuickBooksResource(ConfigurableResource):
    base_url: str
    realm_id: str
    access_token: str
    ca_bundle: str = ""
    rate_limit: str = ""  # e.g. "10/s,500/min"; empty: QuickBooks' published per-realm limits
    rate_limit_dir: str = ""
    # With these, an expired access token is refreshed and the rotated pair kept in the hub.
    client_id: str = ""
    client_secret: str = ""
    refresh_token: str = ""
    token_url: str = ""

    def connector(self, token_store: Hub | None = None) -> QuickBooksConnector:
        return QuickBooksConnector(
            self.base_url, self.realm_id, _optional(self.access_token), _optional(self.ca_bundle),
            rate_limits=rates_or_default(self.rate_limit, "quickbooks"),
            rate_limit_dir=_optional(self.rate_limit_dir),
            client_id=_optional(self.client_id), client_secret=_optional(self.client_secret),
            refresh_token=_optional(self.refresh_token), token_url=_optional(self.token_url),
            token_store=token_store,
        )


class InternalDatabaseResource(ConfigurableResource):
    """The company's internal database (CONCORD_INTERNAL_DB_URL: its URL may hold a password, hence EnvVar)."""

    url: str

    def database(self) -> InternalDatabase:
        return InternalDatabase(self.url)


class NotifierResource(ConfigurableResource):
    """Console and log always; email and webhook when their URLs are set."""

    smtp_url: str = ""
    webhook_url: str = ""

    def notifiers(self) -> list[Notifier]:
        return build_notifiers(_optional(self.smtp_url), _optional(self.webhook_url))


def resources_from_environment() -> dict[str, ConfigurableResource]:
    return {
        "hub": HubResource(database_url=EnvVar("CONCORD_DATABASE_URL")),
        "stripe": StripeResource(
            api_key=EnvVar("STRIPE_API_KEY"),
            api_base=EnvVar("STRIPE_API_BASE"),
            ca_bundle=EnvVar("CONCORD_CA_BUNDLE"),
            rate_limit=EnvVar("CONCORD_STRIPE_RATE_LIMIT"),
            rate_limit_dir=EnvVar("CONCORD_RATE_LIMIT_DIR"),
        ),
        "salesforce": SalesforceResource(
            instance_url=EnvVar("SALESFORCE_INSTANCE_URL"),
            access_token=EnvVar("SALESFORCE_ACCESS_TOKEN"),
            ca_bundle=EnvVar("CONCORD_CA_BUNDLE"),
        ),
        "quickbooks": QuickBooksResource(
            base_url=EnvVar("QUICKBOOKS_BASE_URL"),
            realm_id=EnvVar("QUICKBOOKS_REALM_ID"),
            access_token=EnvVar("QUICKBOOKS_ACCESS_TOKEN"),
            ca_bundle=EnvVar("CONCORD_CA_BUNDLE"),
            rate_limit=EnvVar("CONCORD_QUICKBOOKS_RATE_LIMIT"),
            rate_limit_dir=EnvVar("CONCORD_RATE_LIMIT_DIR"),
            client_id=EnvVar("QUICKBOOKS_CLIENT_ID"),
            client_secret=EnvVar("QUICKBOOKS_CLIENT_SECRET"),
            refresh_token=EnvVar("QUICKBOOKS_REFRESH_TOKEN"),
            token_url=EnvVar("QUICKBOOKS_TOKEN_URL"),
        ),
        "internal": InternalDatabaseResource(url=EnvVar("CONCORD_INTERNAL_DB_URL")),
        "notifier": NotifierResource(
            smtp_url=EnvVar("CONCORD_ALERT_SMTP_URL"),
            webhook_url=EnvVar("CONCORD_ALERT_WEBHOOK_URL"),
        ),
    }
