"""Salesforce connector: reads and upserts records through simple-salesforce (REST API, Bulk API 2.0,
sObject Collections).

Reads page through the whole result (query, then nextRecordsUrl); a first (full) sync of an sObject
with more than `bulk_threshold` records runs as a Bulk API 2.0 query job instead (salesforce_bulk.py),
yielding the same records and cursor. Writes are upserts by an external-id field, which makes them
idempotent: a retried upsert updates the record the first attempt created instead of creating a
second one; many records go 200 at a time through sObject Collections (salesforce_collections.py).

With OAuth settings (token URL, client id/secret, and username/password for the password flow), a
session that timed out (401 INVALID_SESSION_ID) is renewed once and the call retried; every page of
a query is its own call, so a session expiring in the middle of a long read is renewed too.

Every call is retried (jittered backoff, connectors/retry.py) when the connection fails, the body
arrives cut short or Salesforce answers 5xx: reads are safe to repeat, and every write this connector
makes is an upsert by external id, so a retry after a lost answer writes nothing twice.

The org's limits (salesforce_limits.py): the daily API usage is read from every answer
(`quota_used`, `quota_limit`, and `api_usage`/`api_limit` in `response_stats.as_metadata()`); a call
that would eat into the reserve kept for people and other integrations, or one Salesforce refuses
because the quota is spent, raises SalesforceQuotaError and is never retried. Query requests in
flight are bounded per org, and the concurrent long-request limit is waited out with backoff. A
single-record upsert Salesforce could not lock (UNABLE_TO_LOCK_ROW) is sent again as `lock_retry` says.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from simple_salesforce import (
    Salesforce,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    format_soql,
)
from simple_salesforce.format import format_external_id
from simple_salesforce.util import call_salesforce

from connectors import salesforce_bulk, salesforce_changes, salesforce_collections, salesforce_limits
from connectors.cursors import Change, ChangeFeed, Cursor
from connectors.http_session import configure
from connectors.retry import call_with_retries, is_transport_error
from connectors.salesforce_bulk import BulkPolling
from connectors.salesforce_collections import LOCK_ERROR, LockRetry, UpsertOutcome
from connectors.salesforce_limits import (
    DEFAULT_MAX_CONCURRENT_QUERIES,
    ApiQuota,
    Backoff,
    SalesforceQuotaError,
    SalesforceResponseStats,
    SalesforceSession,
)

__all__ = ["SalesforceConnector", "SalesforceQuotaError", "SessionRenewalError", "build_session"]

ACCOUNT_FIELDS = ["Id", "Name", "Stripe_Customer_Id__c", "CurrencyIsoCode", "LastModifiedDate"]
STRIPE_ID_FIELD = "Stripe_Customer_Id__c"
_UPSERT_CREATED = 201
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
T = TypeVar("T")


class SessionRenewalError(RuntimeError):
    """Salesforce's token endpoint refused to issue a new session."""


def build_session(ca_bundle: str | None, quota: ApiQuota | None = None,
                  max_concurrent_queries: int | None = DEFAULT_MAX_CONCURRENT_QUERIES) -> SalesforceSession:
    """The pinned session the SDK sends through; with `quota`, every REST API call is metered against
    the org's daily quota and at most `max_concurrent_queries` queries per org are in flight."""
    session = SalesforceSession()
    configure(session, ca_bundle)
    session.quota, session.max_concurrent_queries = quota, max_concurrent_queries
    if quota is not None:
        session.stats = SalesforceResponseStats(quota)
    return session


class SalesforceConnector:
    def __init__(
        self,
        instance_url: str,
        access_token: str,
        ca_bundle: str | None = None,
        api_version: str = "59.0",
        batch_size: int | None = None,
        *,
        token_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        username: str | None = None,
        password: str | None = None,
        bulk_threshold: int | None = 2000,
        bulk_page_size: int = 50_000,
        bulk_polling: BulkPolling | None = None,
        lock_retry: LockRetry | None = None,
        retry_attempts: int = 4,
        retry_wait: float = 0.5,
        quota_reserve_fraction: float | None = None,
        max_concurrent_queries: int | None = DEFAULT_MAX_CONCURRENT_QUERIES,
        concurrency_backoff: Backoff | None = None,
    ) -> None:
        """`batch_size` (200..2000) asks Salesforce for that many records per page of a query.

        A full read (`changes(sobject, None)`) of more than `bulk_threshold` records (None: never) runs
        as a Bulk API 2.0 query job, polled as `bulk_polling` says and read `bulk_page_size` records
        (maxRecords) per page. `lock_retry` says how often and how patiently a collection upsert retries
        the records Salesforce could not lock (UNABLE_TO_LOCK_ROW). A call failing in transport or with
        a 5xx is sent up to `retry_attempts` times, waiting from `retry_wait` seconds up.

        `quota_reserve_fraction` (default CONCORD_SALESFORCE_QUOTA_RESERVE, else 0.1) of the org's daily
        API quota is left to people and other integrations: past limit x (1 - reserve) calls raise
        SalesforceQuotaError. At most `max_concurrent_queries` query requests (None: no bound) are in
        flight to the org from this process; one refused by the org's concurrent long-request limit is
        sent again as `concurrency_backoff` says (default 6 sends, waits from 2 s up to 60 s).

        `client_id`/`client_secret` enable session renewal: the password flow when `username` and
        `password` (with the security token appended) are given, else the client-credentials flow.
        `token_url` defaults to `{instance_url}/services/oauth2/token`. Without an `access_token`
        the first call opens a session."""
        if quota_reserve_fraction is None:
            quota_reserve_fraction = salesforce_limits.reserve_fraction_from_env()
        self._quota = ApiQuota(quota_reserve_fraction)
        session = build_session(ca_bundle, self._quota, max_concurrent_queries)
        self.response_stats: SalesforceResponseStats = session.stats
        self._session = session
        self._instance_url = instance_url.rstrip("/")
        self._api_version = api_version
        self._oauth: dict[str, str] | None = None
        if client_id and client_secret:
            self._oauth = {"grant_type": "password" if username and password else "client_credentials",
                           "client_id": client_id, "client_secret": client_secret}
            if username and password:
                self._oauth.update(username=username, password=password)
        elif not access_token:
            raise ValueError("SalesforceConnector needs an access token or OAuth client settings to get one")
        self._token_url = token_url or self._instance_url + "/services/oauth2/token"
        self._renew_lock = threading.Lock()
        self.renewals = 0
        self._client = self._build_client(access_token or "")
        self._query_headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
        self._bulk_threshold, self._bulk_page_size = bulk_threshold, bulk_page_size
        self._bulk_polling, self._lock_retry = bulk_polling or BulkPolling(), lock_retry or LockRetry()
        self._retry_attempts, self._retry_wait = retry_attempts, retry_wait
        self._concurrency_backoff = concurrency_backoff or Backoff()

    @property
    def quota_used(self) -> int | None:
        """API requests the org used in the last 24 hours, as Salesforce's latest answer said (None before)."""
        return self._quota.used

    @property
    def quota_limit(self) -> int | None:
        """The org's daily API request quota, as Salesforce's latest answer said (None before any call)."""
        return self._quota.limit

    def _build_client(self, session_id: str) -> Salesforce:
        return Salesforce(
            instance_url=self._instance_url,
            session_id=session_id,
            session=self._session,
            version=self._api_version,
            parse_float=Decimal,  # currency fields (AnnualRevenue...) must never become floats
            object_pairs_hook=dict,
        )

    # ---- session renewal --------------------------------------------------------------------
    def _call(self, operation: Callable[[Salesforce], T]) -> T:
        """Run `operation` on the client, retried on transport failures and 5xx, and (more patiently)
        while the org's concurrent long-request limit is full; an expired session is renewed once (if
        configured) and the operation run again. A spent daily quota raises SalesforceQuotaError."""
        backoff = self._concurrency_backoff
        return call_with_retries(
            lambda: call_with_retries(lambda: self._call_once(operation), _retryable, attempts=self._retry_attempts,
                                      initial_wait=self._retry_wait, what="Salesforce call"),
            salesforce_limits.is_concurrency_limit, attempts=backoff.attempts, initial_wait=backoff.first_wait,
            max_wait=backoff.max_wait, what="Salesforce call (org's concurrent long-request limit reached)")

    def _call_once(self, operation: Callable[[Salesforce], T]) -> T:
        try:
            client = self._client
            if self._oauth is not None and not client.session_id:
                client = self._renew(client)
            try:
                return operation(client)
            except SalesforceExpiredSession:
                if self._oauth is None:
                    raise
            return operation(self._renew(client))
        except SalesforceRefusedRequest as error:
            spent = salesforce_limits.quota_error(error, self._quota)
            if spent is not None:
                raise spent from error
            raise

    def _renew(self, rejected: Salesforce) -> Salesforce:
        with self._renew_lock:
            if self._client is not rejected and self._client.session_id:
                return self._client  # another thread renewed while we waited
            response = self._session.post(self._token_url, data=self._oauth, timeout=30)
            if response.status_code != 200:
                try:
                    error = response.json().get("error", "unknown")
                except ValueError:
                    error = "unknown"
                raise SessionRenewalError(f"Salesforce session renewal failed: HTTP {response.status_code} {error}")
            body = response.json()
            if body.get("instance_url"):
                self._instance_url = body["instance_url"].rstrip("/")
            self._client = self._build_client(body["access_token"])
            self.renewals += 1
            return self._client

    def iter_accounts(self, fields: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every Account, all pages, as plain dicts without Salesforce's `attributes`."""
        # Field names are identifiers, not values: format_soql's :literal keeps them unquoted.
        soql = format_soql("SELECT {:literal} FROM Account ORDER BY Id", ", ".join(_checked_fields(fields)))
        return self._query(soql)

    def iter_accounts_modified_since(
        self, since: datetime, after_id: str = "", fields: list[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Accounts changed after the cursor (SystemModstamp `since`, Id `after_id`), oldest first.

        Records that share the cursor's timestamp but sort after its Id are included, so a page
        boundary or a burst of writes in one millisecond never skips a record.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware (Salesforce compares in UTC)")
        chosen = _checked_fields(fields)
        chosen += [name for name in ("Id", "SystemModstamp") if name not in chosen]
        soql = format_soql(
            "SELECT {fields:literal} FROM Account"
            " WHERE SystemModstamp > {since:literal} OR (SystemModstamp = {since:literal} AND Id > {after_id})"
            " ORDER BY SystemModstamp, Id",
            fields=", ".join(chosen),
            # format_soql would drop the milliseconds, and with them records later in the same second.
            since=salesforce_changes.soql_datetime(round(since.timestamp() * 1000)),
            after_id=after_id,
        )
        return self._query(soql)

    def describe_fields(self, sobject: str) -> list[str]:
        """The sObject's field names as Salesforce describes them now (new custom fields included)."""
        return _readable(self._describe(_checked_sobject(sobject)))

    def _describe(self, name: str) -> list[dict[str, Any]]:
        return self._call(lambda client: getattr(client, name).describe())["fields"]

    def count(self, sobject: str, include_deleted: bool = False) -> int:
        """SELECT COUNT() of the sObject (queryAll when `include_deleted`)."""
        soql = format_soql("SELECT COUNT() FROM {:literal}", _checked_sobject(sobject))
        return self._call(lambda client: client.query(soql, include_deleted=include_deleted))["totalSize"]

    def changes(self, sobject: str, since: Cursor | None, fields: list[str] | None = None) -> ChangeFeed:
        """Records of `sobject` changed after the cursor (SystemModstamp epoch ms, Id), soft deletes among
        them (IsDeleted), then hard deletes from getDeleted as tombstones {"Id", "IsDeleted": True}.

        Every field describe lists (now: a custom field added since the last run is read) is read unless
        `fields` is given. A full read (`since` None) of more than `bulk_threshold` records, deleted ones
        included, runs as a Bulk API 2.0 queryAll job: the same records, the same cursor. Raises
        CursorGap (before any read) when `since` is older than Salesforce keeps deletions (15 days, by
        its own clock); iterating raises BulkJobError if the job fails.
        """
        name = _checked_sobject(sobject)
        # Describe gives the field list, and the field types a Bulk read needs (full reads only).
        described = self._describe(name) if not fields or since is None else []
        chosen = _checked_fields(fields) if fields else _readable(described)
        # Parent fields (Account.Name) come back nested from REST but flat from the Bulk API: REST for those.
        bulk = since is None and self._bulk_threshold is not None and not any("." in field for field in chosen) \
            and self.count(name, include_deleted=True) > self._bulk_threshold
        types = {field["name"]: field.get("type", "string") for field in described}
        if bulk:
            chosen = salesforce_bulk.bulk_fields(chosen, types)
        feed = ChangeFeed(since, chosen)
        tombstones: list[Change] = []
        if since is not None:
            tombstones = salesforce_changes.deleted_since(self._get_deleted(name), name, since, feed)
        else:
            now = salesforce_changes.vendor_now_millis(self._get_deleted(name))
            feed.vendor_floor = (now, "") if now is not None else None
        if bulk:
            wanted = chosen + [field for field in salesforce_changes.REQUIRED_FIELDS if field not in chosen]
            records = salesforce_bulk.query_records(
                self._call, salesforce_bulk.query_soql(name, wanted), types, include_deleted=True,
                page_size=self._bulk_page_size, polling=self._bulk_polling)
            return feed.feed_from(salesforce_changes.changes_from(records, tombstones))
        query = lambda soql: self._query(soql, include_deleted=True)  # noqa: E731 - queryAll
        return feed.feed_from(salesforce_changes.iter_changes(query, tombstones, name, chosen, since))

    def iter_changed(self, sobject: str, since: Cursor | None, fields: list[str] | None = None) -> ChangeFeed:
        """Same as changes(); the name the other connectors use."""
        return self.changes(sobject, since, fields)

    def _get_deleted(self, sobject: str):
        return lambda start, end: self._call(lambda client: getattr(client, sobject).deleted(start, end))

    def find_accounts_by_name(self, name: str) -> list[dict[str, Any]]:
        """Accounts whose Name equals `name` (Salesforce compares text without case)."""
        soql = format_soql(
            "SELECT {:literal} FROM Account WHERE Name = {} ORDER BY Id", ", ".join(ACCOUNT_FIELDS), name
        )
        return list(self._query(soql))

    def upsert_account_by_stripe_id(self, stripe_customer_id: str, fields: dict[str, Any]) -> bool:
        """Create or update the Account keyed by `stripe_customer_id`; True when it was created.

        Decimal values (AnnualRevenue, custom currency fields) are sent as exact JSON numbers. A row
        Salesforce could not lock (UNABLE_TO_LOCK_ROW) is sent again as `lock_retry` says; after the last
        send the SDK's SalesforceMalformedRequest is raised, for the caller to dead-letter the record."""
        body = {name: value for name, value in fields.items() if name != STRIPE_ID_FIELD}
        # The SDK's upsert encodes with plain json.dumps, which refuses Decimals (and a float would
        # round them): the body is encoded here, Decimals as exact JSON numbers.
        path = "sobjects/Account/" + format_external_id(STRIPE_ID_FIELD, stripe_customer_id)
        data = salesforce_collections.dumps(body)
        send = partial(self._call, lambda client: call_salesforce(client.base_url + path, "PATCH",
                                                                  session=client.session, headers=dict(client.headers),
                                                                  data=data, timeout=120))
        retry = self._lock_retry
        response = call_with_retries(send, _is_lock_error, attempts=retry.attempts, initial_wait=retry.first_wait,
                                     max_wait=retry.max_wait, what="Salesforce Account upsert (row locked)")
        return response.status_code == _UPSERT_CREATED

    def update_record(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        """Set `fields` on one record by its Id (PATCH sobjects/{sObject}/{Id}). Setting fields to given values
        is idempotent, so the retries of transport failures and 5xx cannot write anything twice."""
        name = _checked_sobject(sobject)
        if not re.fullmatch(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?", record_id or ""):
            raise ValueError(f"not a Salesforce record Id: {record_id!r}")
        self._call(lambda client: getattr(client, name).update(record_id, fields))

    def upsert_records(self, sobject: str, external_id_field: str, records: list[dict[str, Any]]) -> UpsertOutcome:
        """Upsert `records` by `external_id_field`, 200 per sObject Collections call with allOrNone false.

        Every record gets its own result, in input order: a call Salesforce answers 200 may still have
        failed records, and those are failures (with Salesforce's error codes), never successes. A
        record Salesforce could not lock (UNABLE_TO_LOCK_ROW) is sent again on its own, with backoff."""
        name = _checked_sobject(sobject)
        if not _FIELD_NAME.fullmatch(external_id_field or "") or "." in external_id_field:
            raise ValueError(f"not a Salesforce field name: {external_id_field!r}")
        return salesforce_collections.upsert(self._call, name, external_id_field, records, self._lock_retry)

    def find_records(self, sobject: str, fields: list[str], where_field: str,
                     values: list[Any]) -> list[dict[str, Any]]:
        """Records of `sobject` whose `where_field` is one of `values` (SOQL IN, bound by format_soql, 200 values
        a query so the statement stays far under SOQL's length limit), with `fields`, without `attributes`."""
        name, chosen, (where,) = _checked_sobject(sobject), _checked_fields(fields), _checked_fields([where_field])
        found: list[dict[str, Any]] = []
        step = salesforce_collections.MAX_PER_CALL
        for start in range(0, len(values), step):
            soql = format_soql("SELECT {:literal} FROM {:literal} WHERE {:literal} IN {} ORDER BY Id",
                               ", ".join(chosen), name, where, values[start:start + step])
            found.extend(self._query(soql))
        return found

    def standard_pricebook_id(self) -> str:
        """The org's Standard Price Book (every org has exactly one; a standard price lives there)."""
        [book] = self._query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")
        return book["Id"]

    def _query(self, soql: str, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Every record of `soql`, page by page (query/queryAll, then nextRecordsUrl), without `attributes`."""
        result = self._call(lambda client: client.query(soql, include_deleted=include_deleted,
                                                        headers=self._query_headers))
        while True:
            for record in result["records"]:
                yield {name: value for name, value in record.items() if name != "attributes"}
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                return
            result = self._call(lambda client, url=next_url: client.query_more(url, identifier_is_url=True,
                                                                                headers=self._query_headers))


def _checked_sobject(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name or ""):
        raise ValueError(f"not a Salesforce sObject name: {name!r}")
    return name


def _retryable(error: BaseException) -> bool:
    return is_transport_error(error) or (isinstance(error, SalesforceGeneralError) and error.status >= 500)


def _is_lock_error(error: BaseException) -> bool:
    """UNABLE_TO_LOCK_ROW: another transaction held the row and nothing was written; worth sending again."""
    if not isinstance(error, SalesforceMalformedRequest):
        return False
    content = error.content if isinstance(error.content, list) else [error.content]
    return any(isinstance(entry, dict) and entry.get("errorCode") == LOCK_ERROR for entry in content)


def _readable(described: list[dict[str, Any]]) -> list[str]:
    # base64 fields cannot be read by a query that returns more than one record.
    return [field["name"] for field in described if field.get("type") != "base64"]


def _checked_fields(fields: list[str] | None) -> list[str]:
    chosen = list(fields) if fields else list(ACCOUNT_FIELDS)
    # Identifiers go into the query unquoted, so accept only what an API field name can be.
    for name in chosen:
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"not a Salesforce field name: {name!r}")
    return chosen
