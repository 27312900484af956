"""Salesforce Bulk API 2.0 query jobs: how a large first sync reads an sObject.

A query job is asynchronous: created (UploadComplete), then InProgress for as long as Salesforce takes,
then JobComplete, Failed or Aborted. We poll with exponential backoff up to a deadline (and abort the
job if it passes), then read the results page by page: each page is CSV, `Sforce-Locator` names the
next page and is the string "null" on the last. A job that ends Failed or Aborted is an error, never
an empty result.

CSV carries every value as text, so each is typed back from describe, into what the REST API's JSON
gives for the same record (read with parse_float=Decimal): an empty value is null, booleans are
true/false, int fields int, other numbers Decimal when written with a fraction or exponent (int
otherwise, as the JSON reader does), dateTimes from the Bulk API's `...Z` to REST's `...+0000`.

Bulk API 2.0 refuses compound address and geolocation fields (their components are read instead) and
loses speed with ORDER BY (no PK chunking), so the query has none: a full read is one snapshot,
consumed whole, and its cursor is the newest (SystemModstamp, Id) in it whatever the order.

Every call goes through the connector's `call`, i.e. its pinned, counted session, session renewal and
retries; a results page is only taken when it holds as many records as its Sforce-NumberOfRecords says.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce, SalesforceError, format_soql
from simple_salesforce.util import call_salesforce

from connectors.salesforce_limits import SalesforceQuotaError

T = TypeVar("T")
Call = Callable[[Callable[[Salesforce], T]], T]
log = logging.getLogger("concord.connectors.salesforce_bulk")

COMPOUND_TYPES = frozenset({"address", "location"})  # Bulk API 2.0 cannot select these
_NUMBER_TYPES = frozenset({"double", "currency", "percent"})
_FINISHED_BADLY = ("Failed", "Aborted")
# An abort or delete that fails (the quota's reserve reached included) is logged, not raised.
_CLEANUP_ERRORS = (SalesforceError, SalesforceQuotaError, requests.RequestException)


class BulkJobError(RuntimeError):
    """A Bulk API 2.0 job ended Failed or Aborted, or did not finish in time: its results are not the data."""

    def __init__(self, job_id: str, state: str, message: str) -> None:
        self.job_id, self.state, self.error_message = job_id, state, message
        super().__init__(f"Salesforce Bulk API 2.0 query job {job_id} ended {state}: {message}")


@dataclass(frozen=True)
class BulkPolling:
    """How a job is waited for: first wait, growth factor, longest wait, and the deadline (seconds).

    The first wait is short and doubles: a small job is often done within a fraction of a second, and half a
    second of sleep was a seventh of a 100,000-record first sync (bench_connectors); a long job still gets
    polled only a handful of extra times (0.1, 0.3, 0.7, 1.5 s ...) before the waits reach their cap."""

    first_wait: float = 0.1
    backoff_factor: float = 2.0
    max_wait: float = 30.0
    timeout: float = 3600.0

    def waits(self) -> Iterator[float]:
        wait = self.first_wait
        while True:
            yield wait
            wait = min(wait * self.backoff_factor, self.max_wait)


def bulk_fields(fields: list[str], types: dict[str, str]) -> list[str]:
    """The fields a Bulk API query can select: compound fields left out (their components stay)."""
    return [name for name in fields if types.get(name) not in COMPOUND_TYPES]


def query_soql(sobject: str, fields: list[str]) -> str:
    return format_soql("SELECT {:literal} FROM {:literal}", ", ".join(fields), sobject)


def query_records(call: Call, soql: str, types: dict[str, str], *, include_deleted: bool, page_size: int,
                  polling: BulkPolling, sleep: Callable[[float], None] = time.sleep) -> Iterator[dict[str, Any]]:
    """Every record of `soql` through one query (or queryAll) job, typed as the REST API would give it."""
    operation = "queryAll" if include_deleted else "query"
    job = call(lambda client: _send(client, "POST", "query", payload={"operation": operation, "query": soql,
                                                                   "contentType": "CSV"})).json()
    job_id = job["id"]
    _wait_until_complete(call, job_id, polling, sleep)
    locator = ""
    while True:
        params: dict[str, Any] = {"maxRecords": page_size}
        if locator:
            params["locator"] = locator
        records, locator = call(lambda client, params=params: _page(client, job_id, params, types))
        yield from records
        if not locator or locator == "null":
            break
    _delete(call, job_id)


class IncompletePage(requests.exceptions.ChunkedEncodingError):
    """A results page held fewer records than its Sforce-NumberOfRecords: cut short, so read it again
    (a locator can be read as often as needed while the job exists)."""


def _page(client: Salesforce, job_id: str, params: dict[str, Any], types: dict[str, str]) -> tuple[list, str]:
    page = _send(client, "GET", f"query/{job_id}/results", params=params, accept="text/csv")
    records = list(parse_csv(page.content.decode("utf-8"), types))
    expected = page.headers.get("Sforce-NumberOfRecords", "")
    if expected.isdigit() and int(expected) != len(records):
        raise IncompletePage(f"Bulk API job {job_id}: a results page held {len(records)} of {expected} records")
    return records, page.headers.get("Sforce-Locator", "null")


def _wait_until_complete(call: Call, job_id: str, polling: BulkPolling, sleep: Callable[[float], None]) -> None:
    deadline = time.monotonic() + polling.timeout
    for wait in polling.waits():
        info = call(lambda client: _send(client, "GET", f"query/{job_id}")).json()
        state = info.get("state")
        if state == "JobComplete":
            return
        if state in _FINISHED_BADLY:
            raise BulkJobError(job_id, state, info.get("errorMessage") or "no errorMessage given")
        if time.monotonic() + wait > deadline:
            _abort(call, job_id)
            raise BulkJobError(job_id, "Aborted", f"still {state} after {polling.timeout:g} s; aborted by Concord")
        sleep(wait)


def _abort(call: Call, job_id: str) -> None:
    try:
        call(lambda client: _send(client, "PATCH", f"query/{job_id}", payload={"state": "Aborted"}))
    except _CLEANUP_ERRORS as error:  # the timeout is the error worth raising
        log.warning("could not abort Bulk API job %s: %s", job_id, error)


def _delete(call: Call, job_id: str) -> None:
    """Salesforce keeps a job's results for days; once read, they only count against the org's storage."""
    try:
        call(lambda client: _send(client, "DELETE", f"query/{job_id}"))
    except _CLEANUP_ERRORS as error:
        log.warning("could not delete Bulk API job %s: %s", job_id, error)


def _send(client: Salesforce, method: str, path: str, payload: dict | None = None, params: dict | None = None,
          accept: str = "application/json") -> requests.Response:
    headers = {**client.headers, "Content-Type": "application/json", "Accept": accept}
    body = None if payload is None else json.dumps(payload)
    return call_salesforce(client.bulk2_url + path, method, session=client.session, headers=headers, data=body,
                           params=params, timeout=120)


def parse_csv(text: str, types: dict[str, str]) -> Iterator[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return
    kinds = [types.get(name, "string") for name in header]
    for values in reader:
        if values:
            yield {name: typed(value, kind) for name, value, kind in zip(header, values, kinds, strict=True)}


def typed(text: str, kind: str) -> Any:
    """A Bulk API CSV value as the REST API's JSON (parse_float=Decimal) gives it."""
    if text == "":
        return None  # the Bulk API writes null as an empty value; Salesforce never stores empty text
    if kind == "boolean":
        return text == "true"
    if kind == "int":
        return int(text)
    if kind in _NUMBER_TYPES:
        return Decimal(text) if any(mark in text for mark in ".eE") else int(text)
    if kind == "datetime" and text.endswith("Z"):
        return text[:-1] + "+0000"
    return text
