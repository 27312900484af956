"""Stripe source assets: every entity of the sync rules, landed raw, read incrementally after its first run.

One multi-asset reads every selected Stripe entity, so one Events API read serves all of them:

- Each entity keeps its own cursor (`stripe.<entity>` in the hub). A run reads the events once, from the
  oldest of the selected entities' cursors, and routes each event to the entities it changes
  (connectors.stripe_entities.routes). Per-entity cursors, rather than one `stripe/events` cursor, let a run
  materialize a subset (the asset is subsettable), let a new entity start with a full read while the
  others stay incremental, and let each cursor move in the same transaction as its own entity's data, so a
  failure landing one entity never moves the cursor of another past what it stored.
- First run (no cursor): a full read over concurrent `created` windows, landed a chunk at a time as it
  streams in (memory holds a chunk, not the account); its cursor is the events floor probed before listing,
  so changes made while listing are read next run.
- A cursor older than Stripe keeps events (30 days) is a gap: a warning, a full read with missing rows
  marked deleted, `cursor_gap: true` and a reconciliation flag in the hub (Hub.reconciliation_flags).
- Balance transactions have no events: they are listed by `created` from the oldest still pending.
- Every record is validated before it lands (connectors.stripe_validation); a rejected one goes to the
  dead letters with its reason, the rest land.
"""


from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from assets.landing import land_validated
from assets.resources import HubResource, StripeResource
from connectors.cursors import Cursor, cursor_key, latest
from connectors.stripe import StripeConnector
from connectors.stripe_changes import EventsProbe, created_cursor
from connectors.stripe_entities import ENTITIES, StripeEntity
from connectors.stripe_validation import problem
from store.hub import Hub

EXAMPLES = 10
SYSTEM = "stripe"
DAY = 86_400


def asset_key(entity: StripeEntity) -> AssetKey:
    return AssetKey([SYSTEM, entity.asset])


@dataclass
class EntityRead:
    entity: StripeEntity
    since: Cursor | None
    gap: bool = False
    records: Iterable[dict] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    cursor: Cursor | Callable[[], Cursor | None] | None = None
    count: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return "full" if self.since is None else "incremental"

    def tally(self, records: Iterable[dict]) -> Iterator[dict]:
        """`records` passed on as they come, counted, the first ids kept as examples."""
        for record in records:
            self.count += 1
            if len(self.examples) < EXAMPLES:
                self.examples.append(str(record.get("id")))
            yield record


def _plan(context, store: Hub, probe: EventsProbe, entities: list[StripeEntity]) -> list[EntityRead]:
    reads = []
    for entity in entities:
        cursor = store.get_cursor(entity.stream)
        if cursor is not None and entity.changes == "events" and probe.is_gap(cursor):
            context.log.warning(f"{probe.gap(entity.name, cursor)}: this run reads every {entity.name} again "
                                f"and flags it for reconciliation")
            store.flag_for_reconciliation(SYSTEM, entity.name, "cursor_gap")
            reads.append(EntityRead(entity, None, gap=True))
        else:
            reads.append(EntityRead(entity, cursor))
    return reads


def _read_full(connector: StripeConnector, probe: EventsProbe, read: EntityRead) -> None:
    """Make `read` a stream of every object, landed as it arrives: a first sync of 100,000 invoices holds a
    chunk of them, not all. Stripe's clock may run ahead of ours (the sandbox's does when moved): the windows
    reach past both."""
    stream = read.tally(connector.iter_in_windows(read.entity, end=probe.vendor_now + DAY))
    if read.entity.changes == "created":
        seen: list[dict] = []  # only what the cursor needs of each record
        read.records = _noting(stream, seen)
        read.cursor = lambda: created_cursor(seen, None)
    else:
        read.records, read.cursor = stream, probe.floor


def _noting(records: Iterable[dict], seen: list[dict]) -> Iterator[dict]:
    for record in records:
        seen.append({"created": record.get("created"), "status": record.get("status")})
        yield record


def _read_events(connector: StripeConnector, probe: EventsProbe, reads: list[EntityRead]) -> int:
    """One events read for every incremental entity; returns how many events it read."""
    if not reads:
        return 0
    oldest = min((read.since for read in reads if read.since is not None), key=cursor_key)
    feed = connector.iter_events(oldest, probe=probe)
    events = list(feed)
    changed = connector.changed_by_entity(events, {read.entity.name: read.since for read in reads})
    for read in reads:
        live = []
        for change in changed[read.entity.name]:
            if change.deleted:
                read.deleted.append(change.record["id"])
            else:
                live.append(change.record)
        read.records = read.tally(live)
        read.cursor = latest(read.since, feed.cursor) if feed.complete else None
    return len(events)


def _result(read: EntityRead, counts, rejected: list[str], events_read: int, responses: dict) -> MaterializeResult:
    ids = read.examples + read.deleted
    return MaterializeResult(asset_key=asset_key(read.entity), metadata={
        **responses, "mode": read.mode, "cursor_gap": read.gap, "read": read.count,
        "tombstones": len(read.deleted), "events_read": events_read, "inserted": counts.inserted,
        "updated": counts.updated, "unchanged": counts.unchanged, "deleted": counts.deleted,
        "dead_lettered": len(rejected), "dead_letter_examples": ", ".join(rejected[:EXAMPLES]) or "none",
        "examples": ", ".join(ids[:EXAMPLES]) or "none",
    })


@multi_asset(
    name="stripe_sources",
    specs=[AssetSpec(asset_key(entity), group_name="sources", skippable=True,
                     description=f"Stripe {entity.asset.replace('_', ' ')}, landed raw; read incrementally "
                                 f"after the first run ({'Events API' if entity.changes == 'events' else 'created'})."
                                 " http_* metadata counts the whole Stripe read of the run.")
           for entity in ENTITIES],
    can_subset=True,
)
def stripe_sources(context: AssetExecutionContext, hub: HubResource, stripe: StripeResource):
    store, connector = hub.hub(), stripe.connector()
    entities = [entity for entity in ENTITIES if asset_key(entity) in context.selected_asset_keys]
    probe = connector.probe_events()
    reads = _plan(context, store, probe, entities)
    for read in reads:
        if read.since is None:
            _read_full(connector, probe, read)
        elif read.entity.changes == "created":
            records = connector.list_created_since(read.entity, read.since[0])
            read.records, read.cursor = read.tally(records), created_cursor(records, read.since)
    events_read = _read_events(connector, probe, [read for read in reads
                                                  if read.since is not None and read.entity.changes == "events"])
    landed = []
    for read in reads:
        def check(record: dict, name: str = read.entity.name):
            return problem(name, record)

        # A full read is still streaming from Stripe here: it lands as it arrives.
        counts, rejected = land_validated(context, store, SYSTEM, read.entity.name, read.records, check,
                                          deleted=read.deleted, stream=read.entity.stream, cursor=read.cursor,
                                          complete=read.since is None)
        context.log.info(f"stripe {read.entity.name}: {read.mode}, {read.count} read, {counts}")
        landed.append((read, counts, rejected))
    responses = connector.response_stats.as_metadata()  # after the streams: they read while landing
    for read, counts, rejected in landed:
        yield _result(read, counts, rejected, events_read, responses)
