"""Stripe incremental reads: the Events API as the change log, and first syncs fanned out over `created` windows.

- Events are listed newest first; a run reads every event at or after the cursor's second and yields
  them oldest first. The cursor committed afterwards is (newest event second, ""): the events of that
  second are read again next run, because Stripe may still add events to a second we have read and
  event ids do not sort by time. Re-reading is harmless (each changed object is re-read and landed
  idempotently); skipping would not be.
- An event's payload is rendered at the API version of the webhook/account and may lack expansions,
  so each changed object is re-read from its own endpoint with the SDK's pinned version.
- Stripe keeps events 30 days: an older cursor is a CursorGap; the caller backfills from list endpoints.
- First sync: [start, end) cut into N `created` windows, each paged to its end in its own thread.
  Windows are half-open (`created[gte]`, `created[lt]`), so an object on an edge is in exactly one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from connectors.cursors import STRIPE_EVENTS_RETENTION, Change, ChangeFeed, Cursor, CursorGap, is_gap

ListPage = Callable[[dict], object]  # params -> a stripe ListObject (data, has_more)
STRIPE_EPOCH = 1_262_304_000  # 2010-01-01: no Stripe object is older


def windows(start: int, end: int, count: int) -> list[tuple[int, int]]:
    """[start, end) cut into at most `count` contiguous half-open windows of (nearly) equal length."""
    if end <= start:
        return []
    count = max(1, min(count, end - start))
    step, extra = divmod(end - start, count)
    edges = [start]
    for index in range(count):
        edges.append(edges[-1] + step + (1 if index < extra else 0))
    return list(zip(edges, edges[1:], strict=False))


def pages(call: Callable[[Callable[[], object]], object], list_page: ListPage, params: dict) -> Iterator[dict]:
    params = dict(params)
    while True:
        page = call(lambda: list_page(params))
        data = page.data  # type: ignore[attr-defined]
        yield from (item.to_dict() for item in data)
        if not page.has_more or not data:  # type: ignore[attr-defined]
            return
        params["starting_after"] = data[-1].id


def list_in_windows(call, list_page: ListPage, start: int, end: int, window_count: int, workers: int,
                    page_size: int = 100, params: dict | None = None) -> list[dict]:
    """Every object created in [start, end), the windows read concurrently and merged without duplicates."""
    def read(window: tuple[int, int]) -> list[dict]:
        query = {**(params or {}), "limit": page_size, "created": {"gte": window[0], "lt": window[1]}}
        return list(pages(call, list_page, query))

    merged: dict[str, dict] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for rows in pool.map(read, windows(start, end, window_count)):
            for row in rows:
                merged.setdefault(row["id"], row)
    return list(merged.values())


def iter_events(call, list_events: ListPage, after: Cursor | None, feed: ChangeFeed, page_size: int = 100,
                now: Callable[[], int] = lambda: int(datetime.now(UTC).timestamp())) -> Iterator[Change]:
    """Events after `after` (all retained ones when None), oldest first; raises CursorGap on a stale cursor."""
    params: dict = {"limit": page_size}
    if after is not None:
        newest = list(pages(call, list_events, {"limit": 1}))[:1]
        # Stripe's clock, as far as its answers show it: the newest event, or ours when that is older.
        vendor_now = max([now()] + [event["created"] for event in newest])
        if is_gap(after[0], vendor_now, STRIPE_EVENTS_RETENTION):
            raise CursorGap("stripe", "events", after[0], vendor_now, STRIPE_EVENTS_RETENTION)
        params["created"] = {"gte": after[0]}
    events = [event for event in pages(call, list_events, params)]
    events.sort(key=lambda event: event["created"])  # stable: newest-first order kept inside a second
    newest_second = None
    for event in events:
        newest_second = event["created"]
        yield Change((event["created"], event["id"]), event, deleted=event["type"].endswith(".deleted"))
    if newest_second is not None:
        # The newest second is re-read next run (see the module docstring), so the cursor stops before it.
        feed.final_cursor = (newest_second, "")
