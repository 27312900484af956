"""Sync asset: internal usage events become Stripe billing meter events (see connectors/stripe_usage_sync.py)."""

from dagster import AssetExecutionContext, AssetKey, asset

from assets.push_results import push_result
from assets.resources import HubResource, StripeResource
from connectors.stripe_usage_sync import push_usage


@asset(
    key=["sync", "stripe", "usage"],
    group_name="sync",
    deps=[AssetKey(["internal", "usage_events"]), AssetKey(["canonical", "customers"])],
    description="Sends every landed internal usage event to Stripe as one billing meter event (identifier = the "
                "internal event id, outbox with Idempotency-Key); events Stripe cannot take are dead-lettered.",
)
def sync_stripe_usage(context: AssetExecutionContext, hub: HubResource, stripe: StripeResource):
    connector = stripe.connector()
    counts = push_usage(hub.hub(), connector, run_id=context.run_id, progress=context.log.info)
    return push_result(context, counts, "Stripe meter event", connector.response_stats.as_metadata())
