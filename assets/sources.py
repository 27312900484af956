"""Source assets: each system read incrementally after its first run, landed raw in the hub.

Each asset lands every record with its payload, so mapping problems can be replayed from the hub
without calling the vendor again. QuickBooks is read after Concord's writes to it, so the landed copy
is what reconciliation compares against. Stripe's assets are in assets/stripe_sources.py.
"""

from collections.abc import Callable, Iterator
from functools import partial

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.landing import land_validated
from assets.resources import HubResource, QuickBooksResource, SalesforceResource
from assets.salesforce_sources import land_salesforce_changes
from connectors import quickbooks_changes, quickbooks_validation
from connectors.cursors import CursorGap
from connectors.stripe_validation import Problem

EXAMPLES = 10


SALESFORCE_ACCOUNT_STREAM = "salesforce.account"


@asset(key=["salesforce", "accounts"], group_name="sources",
       description="Salesforce Accounts: every field describe lists, read incrementally after the first run "
                   "(queryAll on SystemModstamp and Id, getDeleted for hard deletes).")
def salesforce_accounts(context: AssetExecutionContext, hub: HubResource, salesforce: SalesforceResource):
    connector = salesforce.connector()
    metadata = land_salesforce_changes(context, hub.hub(), connector, "Account", "account",
                                       SALESFORCE_ACCOUNT_STREAM)
    return MaterializeResult(metadata={**connector.response_stats.as_metadata(), **metadata})


def _quickbooks_check(qb_entity: str) -> Callable[[dict], Problem | None]:
    return partial(quickbooks_validation.problem, qb_entity)


def _read_quickbooks(context, store, connector, qb_entity: str, entity: str, stream: str):
    """(since, gap, feed, changes): an incremental read's changes as a list (a gap shows only once it is read),
    a full read's as a stream, landed as it arrives."""
    since, gap = store.get_cursor(stream), False
    if since is not None:
        try:
            feed = quickbooks_changes.read_changes(connector, qb_entity, since)
            return since, gap, feed, list(feed)
        except CursorGap as exc:
            context.log.warning(f"{exc}: this run reads every {qb_entity} again and flags it for reconciliation")
            store.flag_for_reconciliation("quickbooks", entity, "cursor_gap")
            gap = True
    feed = quickbooks_changes.read_changes(connector, qb_entity, None)
    return None, gap, feed, feed


def _split(changes, gone: list[str], tally: dict) -> Iterator[dict]:
    """The live records of `changes` as they come; deletions go to `gone`, and `tally` counts and keeps examples."""
    for change in changes:
        if change.deleted:
            gone.append(change.record["Id"])
            continue
        tally["read"] += 1
        if len(tally["examples"]) < EXAMPLES:
            tally["examples"].append(str(change.record.get("Id")))
        yield change.record


def _refresh_customers_of(context, store, connector, invoices: list[dict], gone: list[str]) -> int:
    """Re-read and land the customers of changed or deleted invoices (their Balance moved without their
    LastUpdatedTime); the customers' own cursor does not move. Returns how many were re-read."""
    invoices = [row for row in invoices if quickbooks_validation.problem("Invoice", row) is None]  # dead-lettered
    before = store.payloads_of("quickbooks", "invoice", [row["Id"] for row in invoices] + gone)
    touched = {(row.get("CustomerRef") or {}).get("value") for row in [*invoices, *before.values()]} - {None}
    if not touched:
        return 0
    customers = quickbooks_changes.customers_by_id(connector, touched)
    land_validated(context, store, "quickbooks", "customer", customers, _quickbooks_check("Customer"), deleted=[],
                   stream="quickbooks.customer", cursor=None, complete=False, id_field="Id")
    return len(customers)


def _land_quickbooks(context, hub_resource: HubResource, quickbooks: QuickBooksResource, qb_entity: str,
                     entity: str) -> MaterializeResult:
    """Incremental after the first run: LastUpdatedTime + Id after the cursor, CDC for deletes, the vendor's
    current second included (these assets read right after Concord's writes, and reconciliation compares
    against what they land, so it must equal a full read); a stale cursor is a gap, read in full."""
    store = hub_resource.hub()
    connector = quickbooks.connector(token_store=store)
    stream = f"quickbooks.{entity}"
    since, gap, feed, changes = _read_quickbooks(context, store, connector, qb_entity, entity, stream)
    gone: list[str] = []
    tally: dict = {"read": 0, "examples": []}
    live = _split(changes, gone, tally)
    refreshed = 0
    if entity == "invoice" and since is not None:
        live = list(live)  # an incremental read is small, and the customers are re-read before its tombstones land
        refreshed = _refresh_customers_of(context, store, connector, live, gone)
    # `gone` fills as the stream is read; land_validated takes it (and the cursor) only after the last record.
    counts, rejected = land_validated(context, store, "quickbooks", entity, live, _quickbooks_check(qb_entity),
                                      deleted=gone, stream=stream,
                                      cursor=lambda: feed.cursor if feed.complete else None,
                                      complete=since is None, id_field="Id")
    ids = tally["examples"] + gone
    return MaterializeResult(metadata={
        **connector.response_stats.as_metadata(), "mode": "full" if since is None else "incremental",
        "cursor_gap": gap, "read": tally["read"], "tombstones": len(gone), "inserted": counts.inserted,
        "updated": counts.updated, "unchanged": counts.unchanged, "deleted": counts.deleted,
        "total": counts.inserted + counts.updated + counts.unchanged, "customers_re_read": refreshed,
        "dead_lettered": len(rejected), "examples": ", ".join(ids[:EXAMPLES]) or "none",
    })


@asset(
    key=["quickbooks", "customers"],
    group_name="sources",
    deps=[AssetKey(["sync", "quickbooks", "customers"])],
    description="QuickBooks Customers as they are after Concord's writes, landed raw; incremental after the "
                "first run (LastUpdatedTime + Id, CDC for customers gone inactive).",
)
def quickbooks_customers(context: AssetExecutionContext, hub: HubResource, quickbooks: QuickBooksResource):
    return _land_quickbooks(context, hub, quickbooks, "Customer", "customer")


@asset(
    key=["quickbooks", "invoices"],
    group_name="sources",
    deps=[AssetKey(["sync", "quickbooks", "invoices"])],
    description="QuickBooks Invoices as they are after Concord's writes, landed raw; incremental after the "
                "first run (LastUpdatedTime + Id, CDC for deletes); the customers of changed invoices are "
                "re-read, as their Balance moves without a LastUpdatedTime of their own.",
)
def quickbooks_invoices(context: AssetExecutionContext, hub: HubResource, quickbooks: QuickBooksResource):
    return _land_quickbooks(context, hub, quickbooks, "Invoice", "invoice")
