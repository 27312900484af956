"""Sync assets: push what QuickBooks lacks, through the outbox (see connectors/quickbooks_sync.py)."""


from dagster import AssetExecutionContext, AssetKey, asset

from assets.push_results import push_result
from assets.resources import HubResource, QuickBooksResource
from connectors.quickbooks import MAX_BATCH_ITEMS
from connectors.quickbooks_sync import push_customers, push_invoices

# QuickBooks batch calls of up to 30 items: one request (and one throttle permit) instead of thirty.
BATCH_SIZE = MAX_BATCH_ITEMS


@asset(
    key=["sync", "quickbooks", "customers"],
    group_name="sync",
    deps=[AssetKey(["canonical", "customers"])],
    description="Creates in QuickBooks every canonical customer it lacks and updates the ones whose owned fields "
                "changed (outbox, batches of 30, requestid idempotency, sparse updates).",
)
def sync_quickbooks_customers(context: AssetExecutionContext, hub: HubResource, quickbooks: QuickBooksResource):
    connector = quickbooks.connector(token_store=hub.hub())
    counts = push_customers(hub.hub(), connector, progress=context.log.info, batch_size=BATCH_SIZE)
    return push_result(context, counts, "QuickBooks customer", connector.response_stats.as_metadata())


@asset(
    key=["sync", "quickbooks", "invoices"],
    group_name="sync",
    deps=[AssetKey(["canonical", "invoices"]), AssetKey(["sync", "quickbooks", "customers"])],
    description="Creates in QuickBooks every finalized invoice it lacks, and a Payment for each paid one.",
)
def sync_quickbooks_invoices(context: AssetExecutionContext, hub: HubResource, quickbooks: QuickBooksResource):
    connector = quickbooks.connector(token_store=hub.hub())
    counts = push_invoices(hub.hub(), connector, progress=context.log.info, batch_size=BATCH_SIZE)
    return push_result(context, counts, "QuickBooks invoice and payment",
                       connector.response_stats.as_metadata())
