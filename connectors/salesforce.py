"""Salesforce connector: reads and upserts Accounts through simple-salesforce (REST API).

Reads page through the whole result with query_all_iter (the SDK follows nextRecordsUrl);
writes are upserts by the Stripe customer id external-id field, which makes them idempotent: a
retried upsert updates the record the first attempt created instead of creating a second one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.format import format_external_id

from connectors.http_session import ResponseStats, session_trusting

ACCOUNT_FIELDS = ["Id", "Name", "Stripe_Customer_Id__c", "CurrencyIsoCode", "LastModifiedDate"]
STRIPE_ID_FIELD = "Stripe_Customer_Id__c"
_UPSERT_CREATED = 201
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")


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
    ) -> None:
        """`batch_size` (200..2000) asks Salesforce for that many records per page of a query."""
        session = build_session(ca_bundle)
        self.response_stats: ResponseStats = session.stats
        self._client = Salesforce(
            instance_url=instance_url,
            session_id=access_token,
            session=session,
            version=api_version,
            parse_float=Decimal,  # currency fields (AnnualRevenue...) must never become floats
            object_pairs_hook=dict,
        )
        self._query_headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}

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
            " WHERE SystemModstamp > {since} OR (SystemModstamp = {since} AND Id > {after_id})"
            " ORDER BY SystemModstamp, Id",
            fields=", ".join(chosen),
            since=since,
            after_id=after_id,
        )
        return self._query(soql)

    def find_accounts_by_name(self, name: str) -> list[dict[str, Any]]:
        """Accounts whose Name equals `name` (Salesforce compares text without case)."""
        soql = format_soql(
            "SELECT {:literal} FROM Account WHERE Name = {} ORDER BY Id", ", ".join(ACCOUNT_FIELDS), name
        )
        return list(self._query(soql))

    def upsert_account_by_stripe_id(self, stripe_customer_id: str, fields: dict[str, Any]) -> bool:
        """Create or update the Account keyed by `stripe_customer_id`; True when it was created."""
        body = {name: value for name, value in fields.items() if name != STRIPE_ID_FIELD}
        status = self._client.Account.upsert(format_external_id(STRIPE_ID_FIELD, stripe_customer_id), body)
        return status == _UPSERT_CREATED

    def _query(self, soql: str) -> Iterator[dict[str, Any]]:
        for record in self._client.query_all_iter(soql, headers=self._query_headers):
            yield {name: value for name, value in record.items() if name != "attributes"}


def _checked_fields(fields: list[str] | None) -> list[str]:
    chosen = list(fields) if fields else list(ACCOUNT_FIELDS)
    # Identifiers go into the query unquoted, so accept only what an API field name can be.
    for name in chosen:
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"not a Salesforce field name: {name!r}")
    return chosen
