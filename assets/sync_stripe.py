"""Sync asset: a Stripe customer for every Salesforce Account whose deal was Closed Won (connectors/stripe_sync.py).

It runs after the Stripe customers are landed this run, so planning sees every customer Stripe has (a person
may have made one); the customers it creates are read back by the Stripe source on the next run, and until
then the cross-reference keeps them from being planned again.
"""


from dagster import AssetExecutionContext, AssetKey, asset

from assets.push_results import push_result
from assets.resources import HubResource, SalesforceResource, StripeResource
from connectors.stripe_sync import push


@asset(
    key=["sync", "stripe", "customers"],
    group_name="sync",
    deps=[AssetKey(["salesforce", "accounts"]), AssetKey(["salesforce", "opportunities"]),
          AssetKey(["stripe", "customers"])],
    description="Creates a Stripe customer (Salesforce Id in metadata) for every Account with a Closed Won "
                "Opportunity and no customer yet; outbox, Idempotency-Key, metadata search before a retry, "
                "Stripe id written back to the Account.",
)
def sync_stripe_customers(context: AssetExecutionContext, hub: HubResource, stripe: StripeResource,
                          salesforce: SalesforceResource):
    store, connector, crm = hub.hub(), stripe.connector(), salesforce.connector()
    counts = push(store, connector, crm, progress=context.log.info, run_id=context.run_id)
    return push_result(context, counts, "Stripe customer", connector.response_stats.as_metadata(),
                       {"salesforce_": crm.response_stats.as_metadata()})
