"""Source assets: a fresh read of each system, landed raw in the hub.

Each asset lands every record with its payload, so mapping problems can be replayed from the hub
without calling the vendor again. QuickBooks is read after Concord's writes to it, so the read is
what reconciliation compares against.
"""


from collections.abc import Iterable, Iterator

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.resources import HubResource, QuickBooksResource, SalesforceResource, StripeResource
from connectors.cursors import CursorGap

LOG_EVERY = 500


def _with_progress(context: AssetExecutionContext, what: str, records: Iterable[dict], id_field: str
                   ) -> Iterator[tuple[str, dict]]:
    count = 0
    for record in records:
        count += 1
        if count % LOG_EVERY == 0:
            context.log.info(f"{what}: {count} read so far")
        yield str(record[id_field]), record
    context.log.info(f"{what}: {count} read in total")


def _land(context, hub_resource: HubResource, system: str, entity: str, connector, read, id_field: str = "id"):
    # Each read is a full read, so a record it no longer returns was deleted at the source.
    records = _with_progress(context, f"{system} {entity}", read(connector), id_field)
    counts = hub_resource.hub().land_raw(system, entity, records, complete=True)
    responses = connector.response_stats.as_metadata()
    if responses["http_non_success"]:
        context.log.warning(f"{system} {entity}: {responses['http_non_success']} non-success response(s), recovered")
    return MaterializeResult(
        metadata={
            **responses,
            "inserted": counts.inserted,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "deleted": counts.deleted,
            "total": counts.inserted + counts.updated + counts.unchanged,
        }
    )


@asset(key=["stripe", "customers"], group_name="sources", description="Stripe Customers, landed raw.")
def stripe_customers(context: AssetExecutionContext, hub: HubResource, stripe: StripeResource):
    return _land(context, hub, "stripe", "customer", stripe.connector(), lambda c: c.iter_customers())


@asset(key=["stripe", "invoices"], group_name="sources", description="Stripe Invoices with their lines, landed raw.")
def stripe_invoices(context: AssetExecutionContext, hub: HubResource, stripe: StripeResource):
    return _land(context, hub, "stripe", "invoice", stripe.connector(), lambda c: c.iter_invoices())


SALESFORCE_ACCOUNT_STREAM = "salesforce.account"


@asset(key=["salesforce", "accounts"], group_name="sources",
       description="Salesforce Accounts: every field describe lists, read incrementally after the first run "
                   "(queryAll on SystemModstamp and Id, getDeleted for hard deletes).")
def salesforce_accounts(context: AssetExecutionContext, hub: HubResource, salesforce: SalesforceResource):
    store, connector = hub.hub(), salesforce.connector()
    cursor = store.get_cursor(SALESFORCE_ACCOUNT_STREAM)
    gap = False
    try:
        feed = connector.changes("Account", cursor)
    except CursorGap as exc:
        # Deletions older than Salesforce keeps them could be missed: read everything instead.
        context.log.warning(f"{exc}; reading every Account again")
        gap, cursor = True, None
        feed = connector.changes("Account", None)
    live, gone = [], []
    for change in feed:
        record = {key: value for key, value in change.record.items() if key != "attributes"}
        (gone if change.deleted or record.get("IsDeleted") else live).append((record["Id"], record))
    # With no cursor the feed is a full read, so what it lacks was deleted.
    counts = store.land_raw("salesforce", "account", live, complete=cursor is None)
    deleted = store.mark_deleted("salesforce", "account", [external_id for external_id, _ in gone])
    if feed.complete and feed.cursor is not None:
        store.set_cursor(SALESFORCE_ACCOUNT_STREAM, *feed.cursor)  # only after the data it covers is stored
    return MaterializeResult(metadata={
        **connector.response_stats.as_metadata(), "mode": "full" if cursor is None else "incremental",
        "cursor_gap": gap, "inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged,
        "deleted": counts.deleted + deleted, "fields": len(feed.fields),
    })


@asset(
    key=["quickbooks", "customers"],
    group_name="sources",
    deps=[AssetKey(["sync", "quickbooks", "customers"])],
    description="QuickBooks Customers as they are after Concord's writes, landed raw.",
)
def quickbooks_customers(context: AssetExecutionContext, hub: HubResource, quickbooks: QuickBooksResource):
    connector = quickbooks.connector(token_store=hub.hub())
    return _land(context, hub, "quickbooks", "customer", connector, lambda c: c.iter_customers(), id_field="Id")


@asset(
    key=["quickbooks", "invoices"],
    group_name="sources",
    deps=[AssetKey(["sync", "quickbooks", "invoices"])],
    description="QuickBooks Invoices as they are after Concord's writes, landed raw.",
)
def quickbooks_invoices(context: AssetExecutionContext, hub: HubResource, quickbooks: QuickBooksResource):
    connector = quickbooks.connector(token_store=hub.hub())
    return _land(context, hub, "quickbooks", "invoice", connector, lambda c: c.iter_invoices(), id_field="Id")
