"""Salesforce connector: reads and upserts Accounts through simple-salesforce (REST API).

Reads page through the whole result (query, then nextRecordsUrl); writes are upserts by the Stripe
customer id external-id field, which makes them idempotent: a retried upsert updates the record the
first attempt created instead of creating a second one.

With OAuth settings (token URL, client id/secret, and username/password for the password flow), a
session that timed out (401 INVALID_SESSION_ID) is renewed once and the call retried; every page of
a query is its own call, so a session expiring in the middle of a long read is renewed too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce, SalesforceExpiredSession, format_soql
from simple_salesforce.format import format_external_id

from connectors import salesforce_changes
from connectors.cursors import Change, ChangeFeed, Cursor
from connectors.http_session import ResponseStats, session_trusting

ACCOUNT_FIELDS = ["Id", "Name", "Stripe_Customer_Id__c", "CurrencyIsoCode", "LastModifiedDate"]
STRIPE_ID_FIELD = "Stripe_Customer_Id__c"
_UPSERT_CREATED = 201
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
T = TypeVar("T")


class SessionRenewalError(RuntimeError):
    """Salesforce's token endpoint refused to issue a new session."""


def build_session(ca_bundle: str | None) -> requests.Session:
    return session_trusting(ca_bundle)


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
    ) -> None:
        """`batch_size` (200..2000) asks Salesforce for that many records per page of a query.

        `client_id`/`client_secret` enable session renewal: the password flow when `username` and
        `password` (with the security token appended) are given, else the client-credentials flow.
        `token_url` defaults to `{instance_url}/services/oauth2/token`. Without an `access_token`
        the first call opens a session."""
        session = build_session(ca_bundle)
        self.response_stats: ResponseStats = session.stats
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
        """Run `operation` on the client; on an expired session renew once (if configured) and retry."""
        client = self._client
        if self._oauth is not None and not client.session_id:
            client = self._renew(client)
        try:
            return operation(client)
        except SalesforceExpiredSession:
            if self._oauth is None:
                raise
        return operation(self._renew(client))

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
        name = _checked_sobject(sobject)
        described = self._call(lambda client: getattr(client, name).describe())
        # base64 fields cannot be read by a query that returns more than one record.
        return [field["name"] for field in described["fields"] if field.get("type") != "base64"]

    def changes(self, sobject: str, since: Cursor | None, fields: list[str] | None = None) -> ChangeFeed:
        """Records of `sobject` changed after the cursor (SystemModstamp epoch ms, Id), soft deletes among
        them (IsDeleted), then hard deletes from getDeleted as tombstones {"Id", "IsDeleted": True}.

        Every field describe lists is read unless `fields` is given. Raises CursorGap (before any read)
        when `since` is older than Salesforce keeps deletions (15 days, by its own clock).
        """
        name = _checked_sobject(sobject)
        chosen = _checked_fields(fields) if fields else self.describe_fields(name)
        feed = ChangeFeed(since, chosen)
        tombstones: list[Change] = []
        if since is not None:
            tombstones = salesforce_changes.deleted_since(self._get_deleted(name), name, since, feed)
        else:
            now = salesforce_changes.vendor_now_millis(self._get_deleted(name))
            feed.vendor_floor = (now, "") if now is not None else None
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
        """Create or update the Account keyed by `stripe_customer_id`; True when it was created."""
        body = {name: value for name, value in fields.items() if name != STRIPE_ID_FIELD}
        external_id = format_external_id(STRIPE_ID_FIELD, stripe_customer_id)
        status = self._call(lambda client: client.Account.upsert(external_id, body))
        return status == _UPSERT_CREATED

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


def _checked_fields(fields: list[str] | None) -> list[str]:
    chosen = list(fields) if fields else list(ACCOUNT_FIELDS)
    # Identifiers go into the query unquoted, so accept only what an API field name can be.
    for name in chosen:
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"not a Salesforce field name: {name!r}")
    return chosen
