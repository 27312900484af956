"""QuickBooks Online connector over the official python-quickbooks SDK.

Reads page through the query endpoint (STARTPOSITION/MAXRESULTS); writes go through the SDK's
create/update/delete calls with a `requestid`, so a retried write is replayed by QuickBooks instead
of being applied twice; `batch` sends up to 30 writes in one call under one requestid. Every update is
sparse. Payloads are plain dicts with Decimal money, sent as exact JSON numbers.
Faults surface as the SDK's exceptions (quickbooks.exceptions.*), carrying QuickBooks' error code.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from pyrate_limiter import Duration, Rate
from quickbooks import QuickBooks
from quickbooks.exceptions import AuthorizationException, QuickbooksException

from connectors import quickbooks_changes
from connectors.cursors import ChangeFeed, Cursor
from connectors.http_session import PinnedOAuth2Session, ResponseStats, configure, session_trusting
from connectors.oauth_tokens import INTUIT_TOKEN_URL, RotatingTokens, TokenStore
from connectors.qbo_query import Filter, In, quote, select
from connectors.rate_limit import account_key, limiter_for
from connectors.retry import call_with_retries, is_transport_error

__all__ = ["QuickBooksConnector", "quote"]

MAX_REQUEST_ID_LENGTH = 50  # QuickBooks rejects longer requestid values
MAX_PAGE_SIZE = 1000  # QuickBooks caps MAXRESULTS at 1000
MAX_BATCH_ITEMS = 30  # QuickBooks' limit of BatchItemRequests per batch call
BATCH_RATES = [Rate(40, Duration.MINUTE)]  # QuickBooks' limit of batch calls per realm, besides 500/min
THROTTLED_CODE = 3001  # ThrottleExceeded, with HTTP 429
RETRYABLE_CODES = frozenset({THROTTLED_CODE, 10000})  # throttled (429); system failure (5xx)

T = TypeVar("T")


_DECIMAL_MARK = "\u2063qbo-decimal:"
_DECIMAL_TOKEN = re.compile('"' + _DECIMAL_MARK + r'(-?[0-9.Ee+-]+)"')


def _mark_decimals(value: Any) -> Any:
    if isinstance(value, float):
        raise TypeError("money must not be a float: use Decimal")
    if isinstance(value, Decimal):
        return _DECIMAL_MARK + str(value)
    if isinstance(value, dict):
        return {key: _mark_decimals(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark_decimals(item) for item in value]
    return value


def encode_payload(payload: dict) -> bytes:
    """UTF-8 JSON with Decimals written as exact numbers (the SDK's own encoder would write strings)."""
    text = json.dumps(_mark_decimals(payload), ensure_ascii=False)
    return _DECIMAL_TOKEN.sub(lambda match: match.group(1), text).encode("utf-8")


def _check_request_id(request_id: str) -> str:
    if not request_id or len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise ValueError(f"requestid must be 1..{MAX_REQUEST_ID_LENGTH} characters, got {len(request_id or '')}")
    return request_id


def sparse(payload: dict) -> dict:
    """An update body as Concord sends every update: sparse, so properties it does not name stay as they are.

    A full update would blank every property left out, including those a bookkeeper set in QuickBooks."""
    if payload.get("sparse") is False:
        raise ValueError("Concord sends only sparse updates: a full update would erase fields it does not own")
    if "Id" not in payload or "SyncToken" not in payload:
        raise ValueError("an update needs Id and SyncToken")
    return {**payload, "sparse": True}


def _sparse_item(item: dict) -> dict:
    if item.get("operation") != "update":
        return item
    entity = next(key for key in item if key not in ("bId", "operation"))
    return {**item, entity: sparse(item[entity])}


def _is_expired_token(error: AuthorizationException) -> bool:
    # The SDK raises AuthorizationException(error_code=401) for any 401 before reading the Fault body;
    # 3200 is QuickBooks' AuthenticationFailed code when a Fault is parsed instead.
    return str(error.error_code) in {"401", "3200"}


def _is_throttled(error: BaseException) -> bool:
    if not isinstance(error, QuickbooksException):
        return False
    # QuickBooks answers a throttled call in XML whatever the Accept header says, which the SDK reports as an
    # unreadable JSON answer (code 10000) quoting the body; only a parsed JSON Fault carries 3001 itself.
    return error.error_code == THROTTLED_CODE or (error.error_code == 10000 and "ThrottleExceeded" in
                                                  str(error.message))


def _is_retryable(error: BaseException) -> bool:
    if is_transport_error(error):
        return True
    return isinstance(error, QuickbooksException) and error.error_code in RETRYABLE_CODES


class QuickBooksConnector:
    def __init__(
        self,
        base_url: str,
        realm_id: str,
        access_token: str | None = None,
        ca_bundle: str | None = None,
        minorversion: int = 75,
        max_attempts: int = 4,
        retry_wait_seconds: float = 0.5,
        rate_limits: list[Rate] | None = None,
        rate_limit_dir: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        token_url: str | None = None,
        token_store: TokenStore | None = None,
        token_lock: threading.Lock | None = None,
        batch_rate_limits: list[Rate] | None = None,
    ) -> None:
        """With `rate_limits` (QuickBooks publishes 10/s and 500/min per realm) every request first takes
        a permit from the realm's shared bucket in `rate_limit_dir`, and every batch call one more from the
        realm's batch bucket (`batch_rate_limits`, by default QuickBooks' 40 a minute).

        With `client_id`/`client_secret` (and a `refresh_token` or a pair already in `token_store`), an
        expired access token (401) is refreshed once per call and the rotated pair is saved in
        `token_store` (store.hub.Hub), so the next connector, in this process or after a restart, starts
        from it. `token_url` defaults to Intuit's. `token_lock` is for tests modelling two processes."""
        # The session is built here from the access token, as the SDK's _start_session would build
        # it from an intuitlib AuthClient; AuthClient itself fetches Intuit's OpenID discovery
        # document over the internet on construction, which a token-holding client does not need.
        self.client = QuickBooks(company_id=realm_id, minorversion=minorversion, use_decimal=True)
        self.client.api_url_v3 = base_url.rstrip("/") + "/v3"
        self.tokens: RotatingTokens | None = None
        if client_id and client_secret:
            self.tokens = RotatingTokens(
                "quickbooks", realm_id, client_id=client_id, client_secret=client_secret,
                token_url=token_url or INTUIT_TOKEN_URL, session=session_trusting(ca_bundle), store=token_store,
                initial_access_token=access_token, initial_refresh_token=refresh_token, lock=token_lock,
            )
            access_token = self.tokens.access_token
        elif not access_token:
            raise ValueError("QuickBooksConnector needs an access token or client_id/client_secret to refresh one")
        session = PinnedOAuth2Session(token={"access_token": access_token or "", "token_type": "Bearer"})
        limiter = None
        self._batch_limiter = None
        if rate_limits:
            account = account_key("quickbooks", base_url, realm_id)
            limiter = limiter_for("quickbooks", account, rate_limit_dir, rate_limits)
            # A batch call also takes a permit of the realm's 40 batches a minute (shared like the other).
            self._batch_limiter = limiter_for("quickbooks-batch", account, rate_limit_dir,
                                              batch_rate_limits or BATCH_RATES)
        configure(session, ca_bundle, limiter)
        self.response_stats: ResponseStats = session.stats
        self.client.session = session
        self.realm_id = realm_id
        self.max_attempts = max(1, max_attempts)
        self.retry_wait_seconds = retry_wait_seconds
        self._service_item_ref: dict | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, token_store: TokenStore | None = None
                 ) -> QuickBooksConnector:
        """QUICKBOOKS_BASE_URL, QUICKBOOKS_REALM_ID, QUICKBOOKS_ACCESS_TOKEN, optional CONCORD_CA_BUNDLE;
        optional QUICKBOOKS_CLIENT_ID, QUICKBOOKS_CLIENT_SECRET, QUICKBOOKS_REFRESH_TOKEN, QUICKBOOKS_TOKEN_URL."""
        env = os.environ if environ is None else environ
        return cls(
            base_url=env.get("QUICKBOOKS_BASE_URL", "https://quickbooks.api.intuit.com"),
            realm_id=env["QUICKBOOKS_REALM_ID"],
            access_token=env.get("QUICKBOOKS_ACCESS_TOKEN") or None,
            ca_bundle=env.get("CONCORD_CA_BUNDLE") or None,
            client_id=env.get("QUICKBOOKS_CLIENT_ID") or None,
            client_secret=env.get("QUICKBOOKS_CLIENT_SECRET") or None,
            refresh_token=env.get("QUICKBOOKS_REFRESH_TOKEN") or None,
            token_url=env.get("QUICKBOOKS_TOKEN_URL") or None,
            token_store=token_store,
        )

    # ---- plumbing ---------------------------------------------------------------------------
    def _call(self, operation: Callable[[], T]) -> T:
        """Retries throttling, system faults and lost connections; writes are safe to retry because
        each carries its requestid, which QuickBooks answers with the first response."""
        def attempt() -> T:
            return call_with_retries(operation, _is_retryable, attempts=self.max_attempts,
                                     initial_wait=self.retry_wait_seconds, max_wait=8.0, what="QuickBooks call",
                                     throttled=_is_throttled)

        if self.tokens is None:
            return attempt()
        if not self.client.session.access_token:  # configured with a refresh token only
            self._use_access_token(self.tokens.refresh(None))
        sent_with = self.client.session.access_token
        try:
            return attempt()
        except AuthorizationException as error:
            if not _is_expired_token(error):
                raise
        # Refreshed once per call: a second 401 with a brand-new token is not an expiry and is raised.
        self._use_access_token(self.tokens.refresh(sent_with))
        return attempt()

    def _use_access_token(self, access_token: str) -> None:
        self.client.session.token = {"access_token": access_token, "token_type": "Bearer"}

    def query(self, statement: str) -> dict:
        """The QueryResponse of one statement (UTF-8 body: http.client would send a str as Latin-1)."""
        return self._call(lambda: self.client.query(statement.encode("utf-8")))["QueryResponse"]

    def _pages(self, entity: str, page_size: int, changed_since: datetime | None) -> Iterator[dict]:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        where: list[Filter] = []
        order_by = "Id"
        if changed_since is not None:
            where.append(Filter("MetaData.LastUpdatedTime", ">=", changed_since.isoformat()))
            order_by = "MetaData.LastUpdatedTime"
        start = 1
        while True:
            statement = select(entity, where, order_by=order_by, start_position=start, max_results=page_size)
            rows = self.query(statement).get(entity, [])
            yield from rows
            if len(rows) < page_size:
                return
            start += page_size

    def _write(self, entity: str, payload: dict, request_id: str, kind: str) -> dict:
        if kind == "update":
            payload = sparse(payload)
        body = encode_payload(payload)
        request_id = _check_request_id(request_id)
        send = {
            "create": self.client.create_object,
            "update": self.client.update_object,
            "delete": self.client.delete_object,
        }[kind]
        return self._call(lambda: send(entity, body, request_id=request_id))[entity]

    def batch(self, items: list[dict], request_id: str) -> list[dict]:
        """POST .../batch with up to 30 BatchItemRequests; the BatchItemResponses, one per bId, in no set order.

        The batch call carries `request_id`, so a batch retried after a lost answer is replayed whole.
        A Fault on one item is in that item's response; only a Fault on the whole call raises."""
        if not 1 <= len(items) <= MAX_BATCH_ITEMS:
            raise ValueError(f"a batch holds 1..{MAX_BATCH_ITEMS} items, got {len(items)}")
        body = encode_payload({"BatchItemRequest": [_sparse_item(item) for item in items]})
        request_id = _check_request_id(request_id)
        url = f"{self.client.api_url}/company/{self.client.company_id}/batch"

        def post() -> dict:
            if self._batch_limiter is not None:
                self._batch_limiter.try_acquire("batches")  # blocks until the realm may send another batch
            return self.client.post(url, body, request_id=request_id)

        return self._call(post)["BatchItemResponse"]

    def find_in(self, entity: str, name: str, values: list[str], chunk: int = 100,
                also: Sequence[Filter] = ()) -> list[dict]:
        """Every `entity` whose property `name` is one of `values` (and that meets every filter in `also`): one
        IN query per `chunk` values, each paged by Id (a customer's payments may outnumber a page). Every
        property must be one QuickBooks marks filterable for `entity`; any other is refused with 4001 (see
        sandboxes/quickbooks/queryable.py)."""
        found: list[dict] = []
        distinct = list(dict.fromkeys(values))
        for start in range(0, len(distinct), chunk):
            where = [In(name, tuple(distinct[start:start + chunk])), *also]
            position = 1
            while True:
                statement = select(entity, where, order_by="Id", start_position=position,
                                   max_results=MAX_PAGE_SIZE)
                rows = self.query(statement).get(entity, [])
                found += rows
                if len(rows) < MAX_PAGE_SIZE:
                    break
                position += MAX_PAGE_SIZE
        return found

    def get_object(self, entity: str, object_id: str) -> dict:
        return self._call(lambda: self.client.get_single_object(entity, object_id))[entity]

    # ---- reads ------------------------------------------------------------------------------
    def iter_customers(self, page_size: int = MAX_PAGE_SIZE, changed_since: datetime | None = None) -> Iterator[dict]:
        return self._pages("Customer", page_size, changed_since)

    def iter_invoices(self, page_size: int = MAX_PAGE_SIZE, changed_since: datetime | None = None) -> Iterator[dict]:
        return self._pages("Invoice", page_size, changed_since)

    def iter_payments(self, page_size: int = MAX_PAGE_SIZE, changed_since: datetime | None = None) -> Iterator[dict]:
        return self._pages("Payment", page_size, changed_since)

    def iter_changed(self, entity: str, since: Cursor | None, page_size: int = MAX_PAGE_SIZE,
                     include_deletes: bool = True) -> ChangeFeed:
        """Records of `entity` changed after the (unix seconds, Id) cursor `since` (every record when None),
        then its deletes from CDC as tombstones {"Id", "status": "Deleted"}; see connectors.quickbooks_changes.
        Raises CursorGap, on the first read, when `since` is older than CDC keeps (30 days by QuickBooks' clock).
        Commit `feed.cursor` once the feed is consumed."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        feed = ChangeFeed(since)
        return feed.feed_from(quickbooks_changes.iter_changed(self._query_answer, self._cdc_answer, entity, since,
                                                              page_size, include_deletes, feed))

    def _query_answer(self, statement: str) -> dict:
        return self._call(lambda: self.client.query(statement.encode("utf-8")))

    def _cdc_answer(self, entities: str, changed_since: str) -> dict:
        return self._call(lambda: self.client.change_data_capture(entities, changed_since))

    def count(self, entity: str) -> int:
        return int(self.query(select(entity, count=True)).get("totalCount", 0))

    def find_customer_by_display_name(self, name: str) -> dict | None:
        rows = self.query(select("Customer", [Filter("DisplayName", "=", name)])).get("Customer", [])
        return rows[0] if rows else None

    def find_invoice(self, doc_number: str, private_note: str) -> dict | None:
        """The invoice numbered `doc_number` whose PrivateNote is exactly `private_note`, or None.

        QuickBooks cannot filter on PrivateNote (4001), so the query is by DocNumber (filterable) and the
        note is checked here: a DocNumber can be reused by a person, the note says whose invoice it is."""
        rows = self.find_in("Invoice", "DocNumber", [doc_number])
        return next((row for row in rows if row.get("PrivateNote") == private_note), None)

    def get_customer(self, customer_id: str) -> dict:
        return self._call(lambda: self.client.get_single_object("Customer", customer_id))["Customer"]

    def get_invoice(self, invoice_id: str) -> dict:
        return self._call(lambda: self.client.get_single_object("Invoice", invoice_id))["Invoice"]

    def service_item_ref(self) -> dict:
        """{value, name} of the "Services" Item that invoice lines are booked against (cached)."""
        if self._service_item_ref is None:
            rows = self.query(select("Item", [Filter("Name", "=", "Services")])).get("Item", [])
            if not rows:
                raise LookupError("QuickBooks has no Item named 'Services'")
            self._service_item_ref = {"value": rows[0]["Id"], "name": rows[0]["Name"]}
        return dict(self._service_item_ref)

    # ---- writes -----------------------------------------------------------------------------
    def create_customer(self, payload: dict, request_id: str) -> dict:
        return self._write("Customer", payload, request_id, "create")

    def update_customer(self, payload: dict, request_id: str) -> dict:
        """Sparse update (only the properties given); needs Id and the current SyncToken."""
        return self._write("Customer", payload, request_id, "update")

    def create_invoice(self, payload: dict, request_id: str) -> dict:
        return self._write("Invoice", payload, request_id, "create")

    def update_invoice(self, payload: dict, request_id: str) -> dict:
        """Sparse update (only the properties given); needs Id and the current SyncToken."""
        return self._write("Invoice", payload, request_id, "update")

    def create(self, entity: str, payload: dict, request_id: str) -> dict:
        return self._write(entity, payload, request_id, "create")

    def update(self, entity: str, payload: dict, request_id: str) -> dict:
        """Sparse update of any entity (only the properties given); needs Id and the current SyncToken."""
        return self._write(entity, payload, request_id, "update")

    def delete_invoice(self, invoice_id: str, sync_token: str, request_id: str) -> None:
        self._write("Invoice", {"Id": invoice_id, "SyncToken": sync_token}, request_id, "delete")

    def create_payment(self, payload: dict, request_id: str) -> dict:
        return self._write("Payment", payload, request_id, "create")
