"""Sync assets: Stripe's catalog and billing into Salesforce, through the outbox (connectors/salesforce_sync.py)."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.resources import HubResource, SalesforceResource
from connectors.salesforce_sync import EXAMPLES, push_account_billing, push_catalog


def _result(context: AssetExecutionContext, counts, connector, what: str) -> MaterializeResult:
    context.log.info(f"Salesforce {what}: {counts.as_metadata()}")
    for error in counts.errors[:EXAMPLES]:
        context.log.error(error)
    if counts.failed:
        # A run that ignored a failed write is not a success: fail loudly, rows stay in the outbox.
        raise RuntimeError(f"{counts.failed} Salesforce {what} write(s) failed; they stay in the outbox for the next "
                           "run (dead-lettered after the last attempt)")
    return MaterializeResult(metadata={**counts.as_metadata(), "examples": ", ".join(counts.examples) or "none",
                                       **connector.response_stats.as_metadata()})


@asset(
    key=["sync", "salesforce", "products"],
    group_name="sync",
    deps=[AssetKey(["stripe", "products"]), AssetKey(["stripe", "prices"])],
    description="Upserts Stripe products as Product2 and prices as PricebookEntry (standard price first, other "
                "billing intervals in Concord's custom price books) by their Stripe ids; outbox, Collections of 200.",
)
def sync_salesforce_products(context: AssetExecutionContext, hub: HubResource, salesforce: SalesforceResource):
    connector = salesforce.connector()
    return _result(context, push_catalog(hub.hub(), connector, progress=context.log.info), connector, "catalog")


@asset(
    key=["sync", "salesforce", "accounts"],
    group_name="sync",
    deps=[AssetKey(["stripe", "subscriptions"]), AssetKey(["stripe", "prices"]), AssetKey(["stripe", "products"]),
          AssetKey(["salesforce", "accounts"])],
    description="Writes each customer's current Stripe subscription (status, plan, interval, amount in the "
                "Account's currency, next renewal) to the billing fields Concord owns on its Account, upserted by "
                "Stripe_Customer_Id__c; outbox, Collections of 200.",
)
def sync_salesforce_accounts(context: AssetExecutionContext, hub: HubResource, salesforce: SalesforceResource):
    connector = salesforce.connector()
    return _result(context, push_account_billing(hub.hub(), connector, progress=context.log.info), connector,
                   "account billing")
