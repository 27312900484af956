"""Sync assets: Stripe's catalog and billing into Salesforce, through the outbox (connectors/salesforce_sync.py)."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.push_results import push_result
from assets.resources import HubResource, SalesforceResource
from connectors.salesforce_sync import push_account_billing, push_catalog


def _result(context: AssetExecutionContext, counts, connector, what: str) -> MaterializeResult:
    return push_result(context, counts, f"Salesforce {what}", connector.response_stats.as_metadata())


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
