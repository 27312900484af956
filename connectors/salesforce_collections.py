"""sObject Collections upserts: many records by an external-id field, 200 per call, allOrNone false.

`PATCH /composite/sobjects/{sObject}/{externalIdField}` answers 200 whenever the request was well
formed, whatever happened to the records: each record has its own result ({id, success, errors,
created}) in request order, so a 200 with `success: false` records is a failure of those records and
is reported as one, with Salesforce's error codes and messages. A request Salesforce refuses as a whole
(400) fails every record in it, with that error.

UNABLE_TO_LOCK_ROW means another transaction held the row: it is worth trying again, so those records
(and only those) are sent again, with exponential backoff, up to `LockRetry.attempts` sends in all.
Upsert by external id is idempotent, so a call lost in transport or answered 5xx is retried whole
(the connector's `call` does so, connectors/retry.py) without writing anything twice; a record the
lost first attempt created then reports created false.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from simple_salesforce import SalesforceMalformedRequest

from connectors.salesforce_bulk import Call

MAX_PER_CALL = 200  # the documented limit of one sObject Collections call
LOCK_ERROR = "UNABLE_TO_LOCK_ROW"


@dataclass(frozen=True)
class LockRetry:
    """Sends of a record Salesforce could not lock, the first included, and the waits between them (s)."""

    attempts: int = 5
    first_wait: float = 0.5
    max_wait: float = 8.0

    def wait(self, attempt: int) -> float:
        return min(self.first_wait * 2 ** (attempt - 1), self.max_wait)


@dataclass(frozen=True)
class RecordResult:
    """What became of records[index]: written (id, created) or failed (Salesforce's errors)."""

    index: int
    external_id: Any
    success: bool
    id: str | None = None
    created: bool | None = None
    errors: tuple[dict[str, Any], ...] = ()
    attempts: int = 1

    @property
    def error_codes(self) -> list[str]:
        return [str(error.get("statusCode") or error.get("errorCode")) for error in self.errors]


@dataclass
class UpsertOutcome:
    results: list[RecordResult] = field(default_factory=list)  # one per input record, in input order

    @property
    def written(self) -> list[RecordResult]:
        return [result for result in self.results if result.success]

    @property
    def failed(self) -> list[RecordResult]:
        return [result for result in self.results if not result.success]


def upsert(call: Call, sobject: str, external_id_field: str, records: list[dict[str, Any]], lock_retry: LockRetry,
           sleep: Callable[[float], None] = time.sleep) -> UpsertOutcome:
    results: dict[int, RecordResult] = {}
    pending, attempt = list(range(len(records))), 1
    while pending:
        locked = []
        for chunk in _chunks(pending, MAX_PER_CALL):
            answers = _send(call, sobject, external_id_field, [records[index] for index in chunk])
            for index, answer in zip(chunk, answers, strict=True):
                result = _result(index, records[index].get(external_id_field), answer, attempt)
                results[index] = result
                if not result.success and LOCK_ERROR in result.error_codes and attempt < lock_retry.attempts:
                    locked.append(index)
        if locked:
            sleep(lock_retry.wait(attempt))
        pending, attempt = locked, attempt + 1
    return UpsertOutcome([results[index] for index in range(len(records))])


def _chunks(indexes: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(indexes), size):
        yield indexes[start:start + size]


def _send(call: Call, sobject: str, external_id_field: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": sobject}, **{key: value for key, value in record.items() if key != "attributes"}}
        for record in records
    ]}
    path = f"composite/sobjects/{sobject}/{external_id_field}"
    try:
        answers = call(lambda client: client.restful(path, method="PATCH", data=dumps(body)))
    except SalesforceMalformedRequest as error:  # refused as a whole: nothing in it was written
        return [{"success": False, "errors": _request_errors(error.content)}] * len(records)
    if not isinstance(answers, list) or len(answers) != len(records):
        raise RuntimeError(f"Salesforce answered {len(records)} {sobject} upserts with "
                           f"{len(answers) if isinstance(answers, list) else 'no'} results")
    return answers


def _request_errors(content: Any) -> list[dict[str, Any]]:
    entries = content if isinstance(content, list) else [content]
    return [{"statusCode": entry.get("errorCode"), "message": entry.get("message"), "fields": entry.get("fields", [])}
            if isinstance(entry, dict) else {"statusCode": "UNKNOWN", "message": str(entry), "fields": []}
            for entry in entries]


def _result(index: int, external_id: Any, answer: dict[str, Any], attempt: int) -> RecordResult:
    if answer.get("success") is True:
        return RecordResult(index, external_id, True, answer.get("id"), answer.get("created"), attempts=attempt)
    errors = tuple(answer.get("errors") or ({"statusCode": "UNKNOWN", "message": "no error given", "fields": []},))
    return RecordResult(index, external_id, False, answer.get("id"), None, errors, attempt)


_DECIMAL_MARK = "\u2063decimal:"
_DECIMAL_TOKEN = re.compile('"' + _DECIMAL_MARK + r'(-?[0-9.Ee+-]+)"')


def dumps(body: Any) -> str:
    """JSON with Decimals written as exact numbers (money never passes through a float), dates as ISO text."""
    def encode(value: Any) -> str:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"not a number Salesforce can store: {value}")
            return _DECIMAL_MARK + str(value)
        if isinstance(value, datetime | date):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return _DECIMAL_TOKEN.sub(lambda match: match.group(1), json.dumps(body, default=encode, ensure_ascii=False))
