"""Salesforce source assets: sObjects read incrementally after their first run and landed raw in the hub.

Each read is connector.changes(sObject, cursor): queryAll ordered by (SystemModstamp, Id) after the cursor
(soft deletes arrive with IsDeleted), then getDeleted for hard deletes. A cursor older than Salesforce keeps
deletions (15 days) is a gap: a warning and a full read, whose missing records are marked deleted. The
cursor moves in the transaction that lands the data it covers. Accounts are in assets/sources.py and use
the same reader.
"""

from collections.abc import Callable
from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.resources import HubResource, SalesforceResource
from connectors.cursors import CursorGap
from connectors.salesforce import SalesforceConnector
from store import raw
from store.hub import Hub

SYSTEM = "salesforce"
OPPORTUNITY_STREAM = "salesforce.opportunity"


def land_salesforce_changes(warn: Callable[[str], None], store: Hub, connector: SalesforceConnector, sobject: str,
                            entity: str, stream: str) -> dict[str, Any]:
    """Read `sobject`'s changes after the stored cursor of `stream` and land them as `entity`; returns the
    materialization metadata (without the connector's response counts)."""
    cursor = store.get_cursor(stream)
    gap = False
    try:
        feed = connector.changes(sobject, cursor)
    except CursorGap as exc:
        # Deletions older than Salesforce keeps them could be missed: read everything instead.
        warn(f"{exc}; reading every {sobject} again")
        gap, cursor = True, None
        feed = connector.changes(sobject, None)
    live, gone = [], []
    for change in feed:
        record = {key: value for key, value in change.record.items() if key != "attributes"}
        (gone if change.deleted or record.get("IsDeleted") else live).append((record["Id"], record))
    next_cursor = feed.cursor if feed.complete else None  # only after the data it covers is stored
    with store.transaction() as conn:
        # With no cursor the feed is a full read, so what it lacks was deleted.
        counts = raw.land_changes(conn, SYSTEM, entity, live, [external_id for external_id, _ in gone], stream,
                                  next_cursor, complete=cursor is None)
    return {"mode": "full" if cursor is None else "incremental", "cursor_gap": gap, "inserted": counts.inserted,
            "updated": counts.updated, "unchanged": counts.unchanged, "deleted": counts.deleted,
            "fields": len(feed.fields)}


@asset(key=["salesforce", "opportunities"], group_name="sources",
       description="Salesforce Opportunities (the deals whose Closed Won makes a Stripe customer): every field "
                   "describe lists, read incrementally after the first run (queryAll on SystemModstamp and Id, "
                   "getDeleted for hard deletes).")
def salesforce_opportunities(context: AssetExecutionContext, hub: HubResource, salesforce: SalesforceResource):
    connector = salesforce.connector()
    metadata = land_salesforce_changes(context.log.warning, hub.hub(), connector, "Opportunity", "opportunity",
                                       OPPORTUNITY_STREAM)
    return MaterializeResult(metadata={**connector.response_stats.as_metadata(), **metadata})
