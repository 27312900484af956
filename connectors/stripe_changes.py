"""Stripe incremental reads: the Events API as the change log, and first syncs fanned out over `created` windows.

- Events are listed newest first; a run reads every event at or after the cursor's second and yields
  them oldest first. The cursor committed afterwards is (newest event second, ""): the events of that
  second are read again next run, because Stripe may still add events to a second we have read and
  event ids do not sort by time. Re-reading is harmless (each changed object is re-read and landed
  idempotently); skipping would not be.
- An event's payload is rendered at the API version of the webhook/account and may lack expansions,
  so each changed object is re-read from its own endpoint with the SDK's pinned version.
- Stripe keeps events 30 days: an older cursor is a CursorGap; the caller backfills from list endpoints.
- First sync: [start, end) cut into N `created` windows read by a pool of threads, as many at once as help
  (connectors.concurrency); a window that has more than a page is cut again while there is room. Windows
  are half-open (`created[gte]`, `created[lt]`), so an object on an edge is in exactly one.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice

from connectors.concurrency import AdaptiveConcurrency
from connectors.cursors import STRIPE_EVENTS_RETENTION, Change, ChangeFeed, Cursor, CursorGap, is_gap, latest

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
    """Every object of a list, page by page; `list_page` answers plain JSON or an SDK ListObject (a dict too)."""
    params = dict(params)
    while True:
        page = call(lambda: list_page(params))
        data = page["data"]  # type: ignore[index]
        yield from (item.to_dict() if hasattr(item, "to_dict") else item for item in data)
        if not page.get("has_more") or not data:  # type: ignore[attr-defined]
            return
        params["starting_after"] = data[-1]["id"]


@dataclass(frozen=True)
class _Window:
    """A half-open `created` range still to read; `after` continues a range already paged (starting_after)."""

    start: int
    end: int
    after: str | None = None


def _read_page(call, list_page: ListPage, base: dict, window: _Window) -> tuple[_Window, list[dict], bool, float]:
    query = {**base, "created": {"gte": window.start, "lt": window.end}}
    if window.after is not None:
        query["starting_after"] = window.after
    started = time.perf_counter()
    page = call(lambda: list_page(query))
    elapsed = time.perf_counter() - started
    data = [item.to_dict() if hasattr(item, "to_dict") else item for item in page["data"]]  # type: ignore[index]
    return window, data, bool(page.get("has_more")) and bool(data), elapsed  # type: ignore[attr-defined]


def _follow_ups(window: _Window, data: list[dict], split: bool) -> list[_Window]:
    """What is left of `window` after a page: the rest of it (oldest record's second and older, since lists run
    newest first), cut in two when `split` and it spans more than a second, so idle threads get work."""
    oldest = data[-1].get("created")
    if split and isinstance(oldest, int) and oldest - window.start >= 2:
        middle = (window.start + oldest) // 2
        # The newer half continues after the last record read; the older half is new and read from its top.
        return [_Window(middle, window.end, data[-1]["id"]), _Window(window.start, middle)]
    return [_Window(window.start, window.end, data[-1]["id"])]


def iter_in_windows(call, list_page: ListPage, start: int, end: int, window_count: int, workers: int,
                    page_size: int = 100, params: dict | None = None,
                    concurrency: AdaptiveConcurrency | None = None) -> Iterator[dict]:
    """Every object created in [start, end), read concurrently, yielded page by page as pages arrive.

    [start, end) is first cut into `window_count` windows; a window whose page says there is more is cut again
    while there is room for more requests, so a range where every object sits near its end (an account opened
    last month, read from 2010) still spreads over the requests in flight. How many are in flight is
    `concurrency`'s limit (at most `workers`), moved by the latency of full pages (connectors.concurrency): it
    grows against a distant vendor and stays low against a server or client that only queues them. Windows
    never overlap and each continues with `starting_after`, so no object comes twice and memory holds only the
    pages in flight. Each page is one request through `call` (the shared rate limit and retries), so
    concurrency never exceeds the vendor's limit.
    """
    base = {**(params or {}), "limit": page_size}
    workers = max(1, workers)
    concurrency = concurrency or AdaptiveConcurrency(maximum=workers)
    waiting = deque(_Window(*edges) for edges in windows(start, end, window_count))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running: set = set()

        def fill() -> None:
            while waiting and len(running) < min(workers, concurrency.limit):
                running.add(pool.submit(_read_page, call, list_page, base, waiting.popleft()))

        fill()
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                window, data, more, elapsed = future.result()
                if len(data) == page_size:
                    # Only full pages are compared: an empty window answers in a fraction of the time.
                    concurrency.observe(elapsed)
                if more and data[-1].get("id"):
                    room = len(running) + len(waiting) < concurrency.limit
                    waiting.extendleft(reversed(_follow_ups(window, data, split=room)))
                yield from data
            fill()


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


@dataclass(frozen=True)
class EventsProbe:
    """What one `limit=1` events read tells before a run reads anything else.

    `vendor_now`: Stripe's clock as far as its answers show it (the newest event, or ours when that is
    older), for the retention check. `floor`: a cursor every later change is after: the newest event's
    second, or our clock less QUIET_MARGIN when that is newer, so a quiet account's cursor keeps up with
    time instead of falling behind the 30 days of retention and looking like a gap. Stripe's clock is not
    behind ours by more than the margin (and the sandbox clock is ours plus an offset that only grows).
    """

    vendor_now: int
    floor: Cursor

    def is_gap(self, cursor: Cursor) -> bool:
        return is_gap(cursor[0], self.vendor_now, STRIPE_EVENTS_RETENTION)

    def gap(self, stream: str, cursor: Cursor) -> CursorGap:
        return CursorGap("stripe", stream, cursor[0], self.vendor_now, STRIPE_EVENTS_RETENTION)


QUIET_MARGIN = 300


def probe_events(call, list_events: ListPage, now: Callable[[], int] = _now) -> EventsProbe:
    ours = now()
    # One page of one event: `pages` would walk on through every event (it was, one request each).
    newest = [event["created"] for event in islice(pages(call, list_events, {"limit": 1}), 1)]
    return EventsProbe(vendor_now=max([ours, *newest]), floor=(max([ours - QUIET_MARGIN, *newest]), ""))


def iter_events(call, list_events: ListPage, after: Cursor | None, feed: ChangeFeed, page_size: int = 100,
                now: Callable[[], int] = _now, probe: EventsProbe | None = None) -> Iterator[Change]:
    """Events after `after` (all retained ones when None), oldest first; raises CursorGap on a stale cursor.

    Pass the run's `probe` when one was made already (it saves the request); the committed cursor is never
    older than its floor."""
    params: dict = {"limit": page_size}
    if after is not None:
        probe = probe or probe_events(call, list_events, now)
        if probe.is_gap(after):
            raise probe.gap("events", after)
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
    if probe is not None:
        feed.final_cursor = latest(feed.final_cursor, probe.floor)


def created_cursor(records: list[dict], since: Cursor | None) -> Cursor | None:
    """The next `created` cursor of an entity Stripe sends no events for (balance transactions).

    They change once after creation (pending -> available), so the cursor stays at the oldest one still
    pending: the next read lists every transaction created since then and lands each status change. With
    none pending it is the newest second read (re-read next time: Stripe may add more to that second)."""
    pending = [record["created"] for record in records if record.get("status") == "pending"]
    if pending:
        return (min(pending), "")
    newest = [record["created"] for record in records if isinstance(record.get("created"), int)]
    return latest(since, (max(newest), "")) if newest else since
