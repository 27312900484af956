"""Sync assets: push what QuickBooks lacks, through the outbox (see connectors/quickbooks_sync.py)."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.resources import HubResource, QuickBooksResource
from connectors.quickbooks import MAX_BATCH_ITEMS
from connectors.quickbooks_sync import push_customers, push_invoices

# QuickBooks batch calls of up to 30 items: one request (and one throttle permit) instead of thirty.
BATCH_SIZE = MAX_BATCH_ITEMS


def _result(context: AssetExecutionContext, counts, connector) -> MaterializeResult:
    for error in counts.errors[:10]:
        context.log.error(error)
    if counts.failed:
        # A run that ignored a failed write is not a success: fail loudly, rows stay in the outbox.
        raise RuntimeError(f"{counts.failed} QuickBooks write(s) failed; they stay in the outbox for the next run")
    return MaterializeResult(metadata={**counts.as_metadata(), **connector.response_stats.as_metadata()})


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
    context.log.info(f"QuickBooks customers: {counts.as_metadata()}")
    return _result(context, counts, connector)


@asset(
    key=["sync", "quickbooks", "invoices"],
    group_name="sync",
    deps=[AssetKey(["canonical", "invoices"]), AssetKey(["sync", "quickbooks", "customers"])],
    description="Creates in QuickBooks every finalized invoice it lacks, and a Payment for each paid one.",
)
def sync_quickbooks_invoices(context: AssetExecutionContext, hub: HubResource, quickbooks: QuickBooksResource):
    connector = quickbooks.connector(token_store=hub.hub())
    counts = push_invoices(hub.hub(), connector, progress=context.log.info, batch_size=BATCH_SIZE)
    context.log.info(f"QuickBooks invoices and payments: {counts.as_metadata()}")
    return _result(context, counts, connector)
