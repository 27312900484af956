"""Sync asset: internal usage events become Stripe billing meter events (see connectors/stripe_usage_sync.py)."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

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
    context.log.info(f"Stripe meter events: {counts.as_metadata()}")
    for error in counts.errors[:10]:
        context.log.error(error)
    if counts.failed:
        # A run that ignored a failed write is not a success: fail loudly, rows stay in the outbox.
        raise RuntimeError(f"{counts.failed} Stripe meter event(s) failed; they stay in the outbox for the next run")
    return MaterializeResult(metadata={**counts.as_metadata(), **connector.response_stats.as_metadata()})
