"""QuickBooks incremental reads: query paging on MetaData.LastUpdatedTime with an Id tiebreak, CDC for deletes.

Three things make a naive `LastUpdatedTime >= cursor` pager lose records, and each has its answer here:

- records sharing a second across a page boundary: the cursor is (second, Id) and paging is keyset on
  the second plus STARTPOSITION inside it, so a tie group longer than a page is walked, not skipped;
- records updated while we page move to the end of the order and shift later ones back by one, which
  STARTPOSITION paging would skip: every page restarts at the newest second seen (keyset), and ids
  already yielded at that second are dropped;
- records written in the same second as our read but after it: only complete seconds, strictly before
  the vendor's own time in its first answer, are read; the rest is the next run's.

Deleted transactions never appear in a query; CDC (`/cdc`, 30 days back, 1000 objects an answer) lists
them as {"Id", "status": "Deleted"}, which become tombstones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from connectors.cursors import (
    QUICKBOOKS_CDC_RETENTION,
    Change,
    ChangeFeed,
    Cursor,
    CursorGap,
    epoch_seconds,
    id_key,
    is_after,
    is_gap,
)
from connectors.qbo_query import Filter, In, select

CDC_MAX_OBJECTS = 1000  # QuickBooks returns at most this many objects per CDC answer
UPDATED = "MetaData.LastUpdatedTime"

QueryFn = Callable[[str], dict]  # statement -> the whole answer ({"QueryResponse", "time"})
CdcFn = Callable[[str, str], dict]  # (entities, changedSince) -> the whole answer ({"CDCResponse", "time"})


def qbo_time(ts: int) -> str:
    """A unix second as the ISO time QuickBooks filters on (UTC offset spelled out)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def position(row: dict) -> Cursor:
    return epoch_seconds(row["MetaData"]["LastUpdatedTime"]), str(row["Id"])


def _readable_position(row: object) -> Cursor | None:
    """The row's position, or None when its Id or LastUpdatedTime is missing or malformed (bad vendor data:
    the row is still handed on, for quickbooks_validation to dead-letter, but it cannot place the cursor)."""
    if not isinstance(row, dict) or not isinstance(row.get("Id"), str) or not row["Id"]:
        return None
    metadata = row.get("MetaData")
    updated = metadata.get("LastUpdatedTime") if isinstance(metadata, dict) else None
    try:
        return epoch_seconds(updated), row["Id"]
    except (AttributeError, TypeError, ValueError):  # not text, or not a time
        return None


def iter_changed(query: QueryFn, cdc: CdcFn, entity: str, since: Cursor | None, page_size: int,
                 include_deletes: bool = True, feed: ChangeFeed | None = None,
                 include_open_second: bool = False) -> Iterator[Change]:
    """Every `entity` record changed after `since` (all of them when None), then its deletes as tombstones.

    Raises CursorGap before yielding anything when `since` is older than CDC reaches back. The cursor to
    commit afterwards is the newest `Change.position` seen (connectors.cursors.latest).

    With `include_open_second`, records (and deletes) of the vendor's current second are yielded too, so
    what is landed equals a full read at once (a read right after our own writes must see them), but the
    cursor to commit (`feed.final_cursor`) stays at that second's start: the next run reads it again.
    """
    floor = since[0] if since is not None else 0
    start, emitted_at_floor, malformed = 1, set[str](), set[str]()
    vendor_now: int | None = None
    while True:
        statement = select(entity, [Filter(UPDATED, ">=", qbo_time(floor))], order_by=[UPDATED, "Id"],
                           start_position=start, max_results=page_size)
        answer = query(statement)
        if vendor_now is None:
            vendor_now = epoch_seconds(answer["time"])
            if since is not None and is_gap(since[0], vendor_now, QUICKBOOKS_CDC_RETENTION):
                raise CursorGap("quickbooks", entity, since[0], vendor_now, QUICKBOOKS_CDC_RETENTION)
            if feed is not None:
                feed.vendor_floor = (vendor_now, "")  # every second before the vendor's now is read in full
                if include_open_second:
                    feed.final_cursor = (vendor_now, "")  # the open second is landed, but read again next run
        rows = answer["QueryResponse"].get(entity, [])
        placed: list[Cursor] = []
        for row in rows:
            at = _readable_position(row)
            if at is None:
                shown = json.dumps(row, sort_keys=True, default=str)
                if shown not in malformed:  # once: a later page of this read may show it again
                    malformed.add(shown)
                    yield Change(since or (0, ""), row)  # a position that never moves the cursor
                continue
            placed.append(at)
            if at[0] >= vendor_now and not include_open_second:
                continue  # that second is not over at the vendor yet
            if at[0] == floor and at[1] in emitted_at_floor:
                continue
            if is_after(at, since):
                yield Change(at, row)
            if at[0] == floor:
                emitted_at_floor.add(at[1])
        if len(rows) < page_size:
            break
        newest = placed[-1][0] if placed else floor
        if newest > floor:
            # Keyset step: restart at the newest second; the ids already seen there are dropped above.
            floor, start = newest, 1
            emitted_at_floor = {at[1] for at in placed if at[0] == newest}
        else:
            start += page_size  # a whole page inside one second: walk the tie group by position
    if include_deletes and since is not None:
        yield from _tombstones(cdc, entity, since, None if include_open_second else vendor_now)


def _is_removed(row: dict) -> bool:
    # Transactions are deleted; name-list entries (Customer, Item) go inactive, and queries hide them then.
    return row.get("status") == "Deleted" or row.get("Active") is False


def _tombstones(cdc: CdcFn, entity: str, since: Cursor, vendor_now: int | None) -> Iterator[Change]:
    changed_since, seen = since[0], set[str]()
    while True:
        answer = cdc(entity, qbo_time(changed_since))
        objects: list[dict] = []
        for response in answer["CDCResponse"][0]["QueryResponse"]:
            objects.extend(response.get(entity, []))
        # A changed object too malformed to place is no deletion Concord can record; the query pass hands it on
        # to be dead-lettered.
        placed = [(row, at) for row in objects if (at := _readable_position(row)) is not None]
        for row, at in placed:
            before_now = vendor_now is None or at[0] < vendor_now
            if _is_removed(row) and before_now and is_after(at, since) and at[1] not in seen:
                seen.add(at[1])
                yield Change(at, {"Id": at[1], "status": "Deleted", "MetaData": row.get("MetaData", {})},
                             deleted=True)
        if len(objects) < CDC_MAX_OBJECTS:
            return
        # A full answer may have been cut off: ask again from the newest second it reached.
        newest = max((at[0] for _, at in placed), default=changed_since)
        if newest <= changed_since:
            raise RuntimeError(f"QuickBooks CDC for {entity}: more than {CDC_MAX_OBJECTS} changes in one second "
                               f"at {qbo_time(newest)}; cannot page further, reconcile {entity}")
        changed_since = newest


def read_changes(connector, entity: str, since: Cursor | None, page_size: int = 1000) -> ChangeFeed:
    """What a QuickBooks source asset lands: `entity` changed after `since` including the vendor's current
    second (see iter_changed), then its deletes; commit `feed.cursor` once consumed.

    `connector` is a connectors.quickbooks.QuickBooksConnector; its own iter_changed reads complete seconds
    only, and that module belongs to the batch-writes work, so the open-second read is composed here from its
    query and CDC calls (same retries, token refresh and rate limit)."""
    feed = ChangeFeed(since)
    return feed.feed_from(iter_changed(connector._query_answer, connector._cdc_answer, entity, since, page_size,
                                       True, feed, include_open_second=True))


def customers_by_id(connector, customer_ids: Iterable[str], chunk: int = 100) -> list[dict]:
    """The active customers among `customer_ids`, read now (IN queries of `chunk` ids).

    A customer's `Balance` follows its invoices, but QuickBooks does not move the customer's LastUpdatedTime
    for that, so an incremental read of customers alone would keep a stale balance: the invoices source
    re-reads the customers of the invoices it saw change."""
    ids = sorted({str(customer_id) for customer_id in customer_ids}, key=id_key)
    found: list[dict] = []
    for start in range(0, len(ids), chunk):
        statement = select("Customer", [In("Id", tuple(ids[start:start + chunk]))], max_results=1000)
        found.extend(connector.query(statement).get("Customer", []))
    return found
