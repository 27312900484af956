"""Salesforce source assets: sObjects read incrementally after their first run and landed raw in the hub.

Each read is connector.changes(sObject, cursor): queryAll ordered by (SystemModstamp, Id) after the cursor
(soft deletes arrive with IsDeleted), then getDeleted for hard deletes. A cursor older than Salesforce keeps
deletions (15 days) is a gap: a warning and a full read, whose missing records are marked deleted. Records
land as they stream in, a chunk at a time; the cursor moves only after the last of the data it covers.
Accounts are in assets/sources.py and use the same reader.
"""

from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.landing import land_validated
from assets.resources import HubResource, SalesforceResource
from connectors.cursors import CursorGap
from connectors.salesforce import SalesforceConnector
from connectors.stripe_validation import Problem
from store.hub import Hub

SYSTEM = "salesforce"
OPPORTUNITY_STREAM = "salesforce.opportunity"


def land_salesforce_changes(context, store: Hub, connector: SalesforceConnector, sobject: str,
                            entity: str, stream: str) -> dict[str, Any]:
    """Read `sobject`'s changes after the stored cursor of `stream` and land them as `entity`; returns the
    materialization metadata (without the connector's response counts)."""
    cursor = store.get_cursor(stream)
    gap = False
    try:
        feed = connector.changes(sobject, cursor)
    except CursorGap as exc:
        # Deletions older than Salesforce keeps them could be missed: read everything instead.
        context.log.warning(f"{exc}; reading every {sobject} again")
        gap, cursor = True, None
        feed = connector.changes(sobject, None)
    gone: list[str] = []

    def live():
        for change in feed:
            record = {key: value for key, value in change.record.items() if key != "attributes"}
            if change.deleted or record.get("IsDeleted"):
                gone.append(record["Id"])
            else:
                yield record

    # Landed as the feed streams in (a first sync of 100,000 Accounts holds a chunk, not all); the tombstones
    # and the cursor land after the last record, the cursor only if the feed was read to its end. With no
    # cursor the feed is a full read, so what it lacks was deleted.
    counts, _ = land_validated(context, store, SYSTEM, entity, live(), _problem, deleted=gone, stream=stream,
                               cursor=lambda: feed.cursor if feed.complete else None, complete=cursor is None,
                               id_field="Id")
    return {"mode": "full" if cursor is None else "incremental", "cursor_gap": gap, "inserted": counts.inserted,
            "updated": counts.updated, "unchanged": counts.unchanged, "deleted": counts.deleted,
            "fields": len(feed.fields)}


def _problem(record: dict) -> Problem | None:
    return None if isinstance(record.get("Id"), str) and record["Id"] else Problem("Id", "a record without an Id")


@asset(key=["salesforce", "opportunities"], group_name="sources",
       description="Salesforce Opportunities (the deals whose Closed Won makes a Stripe customer): every field "
                   "describe lists, read incrementally after the first run (queryAll on SystemModstamp and Id, "
                   "getDeleted for hard deletes).")
def salesforce_opportunities(context: AssetExecutionContext, hub: HubResource, salesforce: SalesforceResource):
    connector = salesforce.connector()
    metadata = land_salesforce_changes(context, hub.hub(), connector, "Opportunity", "opportunity",
                                       OPPORTUNITY_STREAM)
    return MaterializeResult(metadata={**connector.response_stats.as_metadata(), **metadata})
