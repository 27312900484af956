"""Stripe connector over the official SDK (`stripe.StripeClient`).

Reads page through every object of an entity (connectors.stripe_entities: customers, invoices with all
their lines, catalog, subscriptions, payments, refunds, disputes, payouts, balance transactions) and
yield plain dicts, as the raw landing stores them; incremental reads take the Events API as the change
log. Writes carry the caller's idempotency key so a retried outbox row never creates a second object.
Transient failures (connection errors, 409, 5xx) are retried by the SDK itself (`max_network_retries`),
reusing the same Idempotency-Key.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import stripe
from pyrate_limiter import Limiter, Rate

from connectors import stripe_changes
from connectors.concurrency import AdaptiveConcurrency
from connectors.cursors import Change, ChangeFeed, Cursor, is_after
from connectors.http_session import ResponseStats, session_trusting
from connectors.rate_limit import account_key, limiter_for, stripe_rates_name
from connectors.retry import call_with_retries, retry_after_seconds
from connectors.stripe_entities import BY_NAME, StripeEntity, is_deletion, routes

T = TypeVar("T")

DEFAULT_MAX_NETWORK_RETRIES = 2
DEFAULT_TIMEOUT_SECONDS = 30.0


def http_client_trusting(
    ca_bundle: str | None, timeout: float = DEFAULT_TIMEOUT_SECONDS, limiter: Limiter | None = None
) -> stripe.RequestsClient:
    """An SDK HTTP client verifying TLS against `ca_bundle` and paced by `limiter`.

    Without a bundle of ours the SDK's own (stripe.ca_bundle_path) still applies per request.
    """
    return stripe.RequestsClient(timeout=timeout, session=session_trusting(ca_bundle, limiter))


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, stripe.IdempotencyError):
        return False  # the key was reused with other parameters: retrying cannot help
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    return isinstance(error, stripe.APIError) and (error.http_status or 0) >= 500


def _retry_after(error: BaseException) -> float | None:
    return retry_after_seconds(getattr(error, "headers", None))


class StripeConnector:
    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        ca_bundle: str | None = None,
        *,
        max_network_retries: int = DEFAULT_MAX_NETWORK_RETRIES,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        rate_limits: list[Rate] | None = None,
        rate_limit_dir: str | None = None,
    ) -> None:
        """With `rate_limits`, every request first takes a permit from the account's shared bucket
        (in `rate_limit_dir`, so all threads and processes of a run stay within Stripe's limit together)."""
        # The SDK retries 5xx and dropped connections itself, but not truncated bodies or 429s:
        # those come back to _call, which retries them with the same idempotency key.
        self._attempts = max(1, max_network_retries + 1)
        limiter = None
        if rate_limits:
            limiter = limiter_for(stripe_rates_name(api_key), account_key("stripe", api_key), rate_limit_dir,
                                  rate_limits)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=(http_client := http_client_trusting(ca_bundle, timeout, limiter)),
        )
        self.response_stats: ResponseStats = http_client._session.stats

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StripeConnector:
        """STRIPE_API_KEY (required), STRIPE_API_BASE and CONCORD_CA_BUNDLE (optional)."""
        env = os.environ if environ is None else environ
        return cls(env["STRIPE_API_KEY"], env.get("STRIPE_API_BASE") or None, env.get("CONCORD_CA_BUNDLE") or None)

    # -- reads ---------------------------------------------------------------------------------

    def _call(self, operation: Callable[[], T], what: str) -> T:
        return call_with_retries(operation, _is_retryable, attempts=self._attempts, initial_wait=0.25,
                                 retry_after=_retry_after, what=f"Stripe {what}",
                                 throttled=lambda error: isinstance(error, stripe.RateLimitError))

    def _pages(self, path: str, params: dict[str, Any], what: str) -> Iterator[dict]:
        """Every object of a list endpoint as plain JSON, page by page, each page fetched with retries.

        raw_request keeps the SDK's auth, pinned API version, headers and network retries, but skips
        building a StripeObject per record, which cost ~0.8 ms of CPU each (benchmarks/bench_connectors.py).
        """
        params = dict(params)
        while True:
            page = self._call(lambda: self._client.raw_request("get", path, **params).data, what)
            yield from page["data"]
            if not page.get("has_more") or not page["data"]:
                return
            params["starting_after"] = page["data"][-1]["id"]

    def iter_customers(self, page_size: int = 100) -> Iterator[dict]:
        """Every customer, newest first, as plain dicts; pages of `page_size` (1..100)."""
        return self._pages("/v1/customers", {"limit": page_size}, "customer list")

    def iter_invoices(self, page_size: int = 100, status: str | None = None) -> Iterator[dict]:
        """Every invoice (optionally only one status), newest first, each with all of its lines."""
        params: dict[str, Any] = {"limit": page_size}
        if status is not None:
            params["status"] = status
        for invoice in self._pages("/v1/invoices", params, "invoice list"):
            yield self._with_all_lines(invoice)

    def _with_all_lines(self, invoice: dict) -> dict:
        lines = invoice.get("lines") or {}
        if not lines.get("has_more"):
            return invoice
        # Stripe embeds only the first lines of an invoice; the rest come from its lines endpoint.
        every_line = self._pages(f"/v1/invoices/{invoice['id']}/lines", {"limit": 100}, "invoice lines")
        invoice["lines"] = {**lines, "data": list(every_line), "has_more": False}
        return invoice

    # -- incremental reads ---------------------------------------------------------------------
    def _raw_list(self, path: str) -> Callable[[dict], dict]:
        return lambda params: self._client.raw_request("get", path, **params).data

    def probe_events(self) -> stripe_changes.EventsProbe:
        """One `limit=1` events read: Stripe's clock for the retention check and the floor of the next cursor."""
        return stripe_changes.probe_events(self._call_list, self._raw_list("/v1/events"))

    def iter_events(self, after_cursor: Cursor | None, page_size: int = 100,
                    probe: stripe_changes.EventsProbe | None = None) -> ChangeFeed:
        """Events after the (created, event id) cursor, oldest first (see connectors.stripe_changes); commit
        `feed.cursor` once consumed. Raises CursorGap when the cursor is older than Stripe keeps events."""
        feed = ChangeFeed(after_cursor)
        return feed.feed_from(stripe_changes.iter_events(self._call_list, self._raw_list("/v1/events"),
                                                         after_cursor, feed, page_size, probe=probe))

    def changed_objects(self, events) -> Iterator[Change]:
        """Each object the events touched, once, re-read from its own endpoint at our pinned API version;
        a `*.deleted` event (or an object gone since) becomes a tombstone {"id", "object", "deleted": True}."""
        last_event: dict[str, dict] = {}
        for change in events:
            event = change.record
            obj = event["data"]["object"]
            last_event.pop(obj["id"], None)
            last_event[obj["id"]] = event  # insertion order follows the latest event per object
        for object_id, event in last_event.items():
            kind = event["data"]["object"].get("object", "")
            position = (event["created"], event["id"])
            retrieve = self._retrievers().get(kind)
            if is_deletion(event["type"]) or retrieve is None:
                if is_deletion(event["type"]):
                    yield Change(position, {"id": object_id, "object": kind, "deleted": True}, deleted=True)
                continue
            try:
                fresh = self._call(lambda retrieve=retrieve, object_id=object_id: retrieve(object_id), f"{kind} read")
            except stripe.InvalidRequestError as error:
                if error.http_status != 404:
                    raise
                yield Change(position, {"id": object_id, "object": kind, "deleted": True}, deleted=True)
                continue
            record = fresh.to_dict()
            yield Change(position, record, deleted=bool(record.get("deleted")))

    def changed_by_entity(self, events: Iterable[Change], cursors: Mapping[str, Cursor | None], workers: int = 8
                          ) -> dict[str, list[Change]]:
        """The landed objects the events changed, per entity (connectors.stripe_entities.routes), each once
        and re-read as plain JSON at our pinned version, a list endpoint's shape; deletes as tombstones.
        An event at or before an entity's own cursor is skipped for that entity: it was landed already."""
        latest_change: dict[tuple[str, str], tuple[Cursor, bool]] = {}
        for change in events:
            for name, object_id, deleted in routes(change.record):
                if name in cursors and is_after(change.position, cursors[name]):
                    latest_change.pop((name, object_id), None)
                    latest_change[(name, object_id)] = (change.position, deleted)
        def reread(key: tuple[str, str]) -> dict | None:
            return None if latest_change[key][1] else self.retrieve(BY_NAME[key[0]], key[1])

        found: dict[str, list[Change]] = {name: [] for name in cursors}
        # Re-reads in parallel: each takes a permit from the account's shared rate limit, so this only fills
        # the allowance that sequential round trips would leave unused.
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for (name, object_id), record in zip(latest_change, pool.map(reread, list(latest_change)), strict=True):
                position = latest_change[(name, object_id)][0]
                if record is None:
                    found[name].append(Change(position, {"id": object_id, "object": name, "deleted": True},
                                              deleted=True))
                else:
                    found[name].append(Change(position, record))
        return found

    def retrieve(self, entity: StripeEntity, object_id: str) -> dict | None:
        """One object as plain JSON with all of its embedded list; None when Stripe no longer has it."""
        try:
            record = self._call(lambda: self._client.raw_request("get", f"{entity.path}/{object_id}").data,
                                f"{entity.name} read")
        except stripe.InvalidRequestError as error:
            if error.http_status != 404:
                raise
            return None
        if record.get("deleted"):
            return None  # Stripe answers a deleted customer with {"id", "object", "deleted": true}
        return self._complete(entity, record)

    def _complete(self, entity: StripeEntity, record: dict) -> dict:
        embedded = entity.embedded
        if embedded is None or not isinstance(record.get("id"), str):
            return record
        listed = record.get(embedded.field)
        if not isinstance(listed, dict) or not listed.get("has_more"):
            return record
        # Stripe embeds only the first entries; the rest come from the list's own endpoint.
        params: dict[str, Any] = {"limit": 100, **{key: value.format(id=record["id"])
                                                  for key, value in embedded.params}}
        every = self._pages(embedded.path.format(id=record["id"]), params, f"{entity.name} {embedded.field}")
        record[embedded.field] = {**listed, "data": list(every), "has_more": False}
        return record

    def list_in_windows(self, entity: StripeEntity, start: int | None = None, end: int | None = None,
                        window_count: int = 8, workers: int = 8, page_size: int = 100) -> list[dict]:
        """A full read of `entity`: `created` windows over [start, end) read concurrently, merged, no duplicates,
        each record with all of its embedded list. `end` defaults to a day past our clock (pass Stripe's clock
        when it runs ahead: objects stamped later would be missed)."""
        merged: dict[str, dict] = {}
        for record in self.iter_in_windows(entity, start, end, window_count, workers, page_size):
            # A record without an id is kept (validation dead-letters it) rather than failing the read.
            merged.setdefault(record.get("id") or f"(missing id {len(merged)})", record)
        return list(merged.values())

    def iter_in_windows(self, entity: StripeEntity, start: int | None = None, end: int | None = None,
                        window_count: int = 8, workers: int = 8, page_size: int = 100) -> Iterator[dict]:
        """list_in_windows as a stream: records as their pages arrive, memory bounded by the pages in flight
        (each record with all of its embedded list)."""
        end = end if end is not None else int(time.time()) + 86_400
        start = start if start is not None else stripe_changes.STRIPE_EPOCH
        # Kept on the connector so a run can report how many requests it kept in flight.
        self.window_concurrency = AdaptiveConcurrency(maximum=workers)
        for record in stripe_changes.iter_in_windows(self._call_list, self._raw_list(entity.path), start, end,
                                                     window_count, workers, page_size, dict(entity.list_params),
                                                     concurrency=self.window_concurrency):
            yield self._complete(entity, record)

    def list_created_since(self, entity: StripeEntity, second: int, page_size: int = 100) -> list[dict]:
        """Every `entity` object created at or after `second` (entities Stripe sends no events for)."""
        params = {**dict(entity.list_params), "limit": page_size, "created": {"gte": second}}
        return [self._complete(entity, record) for record in self._pages(entity.path, params, f"{entity.name} list")]

    def _retrievers(self) -> dict[str, Callable[[str], Any]]:
        v1 = self._client.v1
        return {"customer": v1.customers.retrieve, "invoice": v1.invoices.retrieve, "product": v1.products.retrieve,
                "price": v1.prices.retrieve, "subscription": v1.subscriptions.retrieve,
                "charge": v1.charges.retrieve, "payment_intent": v1.payment_intents.retrieve,
                "refund": v1.refunds.retrieve, "payout": v1.payouts.retrieve, "invoiceitem": v1.invoice_items.retrieve,
                "coupon": v1.coupons.retrieve, "dispute": v1.disputes.retrieve}

    def list_customers_in_windows(self, start: int | None = None, end: int | None = None, window_count: int = 8,
                                  workers: int = 8, page_size: int = 100) -> list[dict]:
        """First sync of customers: `created` windows over [start, end) read concurrently, merged, no duplicates.
        `end` defaults to a day past our clock (objects stamped by a vendor clock running ahead are kept)."""
        return self.list_in_windows(BY_NAME["customer"], start, end, window_count, workers, page_size)

    def _call_list(self, operation: Callable[[], T]) -> T:
        return self._call(operation, "list")

    def retrieve_customer(self, customer_id: str) -> dict:
        return self._call(lambda: self._client.v1.customers.retrieve(customer_id), "customer read").to_dict()

    # -- writes --------------------------------------------------------------------------------

    def create_customer(self, params: dict, idempotency_key: str) -> dict:
        """Create a customer; the same key and params again return the first result, not a new one."""
        created = self._call(
            lambda: self._client.v1.customers.create(params, {"idempotency_key": idempotency_key}), "customer create"
        )
        return created.to_dict()

    def search_customers(self, query: str, page_size: int = 100) -> list[dict]:
        """Every customer matching a Stripe search `query` (e.g. metadata['salesforce_account_id']:'001...'),
        all pages (next_page), as plain dicts. Stripe's search index trails writes by up to a minute, so this
        finds what an idempotency key can no longer replay (24 h), not what was written a moment ago."""
        params: dict[str, Any] = {"query": query, "limit": page_size}
        found: list[dict] = []
        while True:
            page = self._call(lambda: self._client.raw_request("get", "/v1/customers/search", **params).data,
                              "customer search")
            found.extend(page["data"])
            if not page.get("has_more") or not page.get("next_page"):
                return found
            params["page"] = page["next_page"]

    def create_meter_event(self, event_name: str, payload: dict[str, str], identifier: str, timestamp: int,
                           idempotency_key: str) -> dict:
        """Report one billing meter event. Stripe dedupes on `identifier` (for at least 24 h) and replays the
        first answer to a repeated Idempotency-Key, so a resent outbox row never counts twice in that window."""
        params: dict[str, Any] = {"event_name": event_name, "payload": payload, "identifier": identifier,
                                  "timestamp": timestamp}
        created = self._call(
            lambda: self._client.v1.billing.meter_events.create(params, {"idempotency_key": idempotency_key}),
            "meter event create")
        return created.to_dict()
