"""Bulk API 2.0: query jobs (results as CSV pages with Sforce-Locator / Sforce-NumberOfRecords) and
ingest jobs (one CSV upload, UploadComplete, then successful/failed/unprocessed results).

Jobs take time, as on a real org, and a client must poll. A query job is UploadComplete when
created, an ingest job when the client closes it; from then on each status poll (GET of the job)
answers InProgress, `in_progress_polls` times (default 2), before JobComplete, or, when
`in_progress_seconds` is set, until the sandbox clock has moved that far since the job was queued.
Both are read when a job is queued, so a change applies to later jobs. An injected failure
(`fail_next`) ends the job Failed with Salesforce's errorMessage instead. Results asked for before
the job completes get Salesforce's documented 412 JOB_NOT_COMPLETE answer.

A query job snapshots its rows when created. An ingest job writes its rows when it is closed (a real
org commits batch by batch while the job is still InProgress) unless it is to fail, in which case it
writes none and every row is an unprocessed record.
"""

from __future__ import annotations

import base64
import csv
import io
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sandboxes.http import Request, Response
from sandboxes.salesforce.errors import ApiError
from sandboxes.salesforce.ids import make_id
from sandboxes.salesforce.schema import NUMBER_TYPES, ObjectSchema
from sandboxes.salesforce.seeding import format_datetime
from sandboxes.salesforce.state import SalesforceState

if TYPE_CHECKING:
    from sandboxes.salesforce.api import AddRoute, SalesforceApi

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
CSV_TYPE = "text/csv"
_NULL = "#N/A"  # the CSV value that sets a field to null (an empty value leaves it alone)


DEFAULT_IN_PROGRESS_POLLS = 2
QUERY_FAILURE = ("InvalidBatch : Failed to process query: QUERY_TIMEOUT: Your query request was running for too "
                 "long.")
INGEST_FAILURE = "InternalServerError : Failed to process the job: a batch was retried more than 10 times"
_WIRE_STATES = {"Open": "OPEN", "UploadComplete": "UPLOAD_COMPLETE", "InProgress": "IN_PROGRESS",
                "JobComplete": "JOB_COMPLETE", "Failed": "FAILED", "Aborted": "ABORTED"}
_RUNNING = ("UploadComplete", "InProgress")
_FINISHED = ("JobComplete", "Failed", "Aborted")


@dataclass
class Job:
    id: str
    operation: str
    object: str
    created: datetime
    api_version: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    external_id_field: str | None = None
    state: str = "Open"
    query: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[object]] = field(default_factory=list)
    upload: str | None = None
    successful: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    unprocessed: list[dict[str, str]] = field(default_factory=list)
    error_message: str | None = None
    # How the job runs, fixed when it is queued (UploadComplete):
    queued: datetime | None = None
    polls_needed: int = 0
    seconds_needed: float = 0.0
    failure: str | None = None  # the errorMessage an injected failure ends the job with
    polls: int = 0
    progress: float = 0.0  # share of the records processed so far, while InProgress
    modified: datetime | None = None
    finished: datetime | None = None

    @property
    def is_query(self) -> bool:
        return self.operation in ("query", "queryAll")

    @property
    def total_records(self) -> int:
        return len(self.rows) if self.is_query else len(self.successful) + len(self.failed) + len(self.unprocessed)

    def info(self, now: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.object,
            "createdById": make_id("005", 1), "createdDate": format_datetime(self.created),
            "systemModstamp": format_datetime(self.modified or self.created),
            "state": self.state, "concurrencyMode": "Parallel", "contentType": "CSV",
            "apiVersion": float(self.api_version), "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        counts = {"numberRecordsProcessed": self._processed(), "retries": 0,
                  "totalProcessingTime": self._processing_millis(now)}
        if self.is_query:
            body.update({"jobType": "V2Query", **counts, "isPkChunkingSupported": True})
        else:
            failed = len(self.failed) if self.state == "JobComplete" else 0
            body.update({"jobType": "V2Ingest", "externalIdFieldName": self.external_id_field,
                         "contentUrl": f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches",
                         **counts, "numberRecordsFailed": failed, "apiActiveProcessingTime": counts[
                             "totalProcessingTime"], "apexProcessingTime": 0})
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body

    def _processed(self) -> int:
        if self.state == "JobComplete":
            return self.total_records if self.is_query else len(self.successful) + len(self.failed)
        if self.state == "InProgress":
            return int(self.total_records * self.progress)
        return 0

    def _processing_millis(self, now: datetime) -> int:
        if self.queued is None:
            return 0
        return max(0, round(((self.finished or now) - self.queued).total_seconds() * 1000))


class BulkJobs:
    def __init__(self, state: SalesforceState) -> None:
        self.state = state
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._jobs: dict[str, Job] = {}
            self._counter = 0
            self.in_progress_polls = DEFAULT_IN_PROGRESS_POLLS
            self.in_progress_seconds = 0.0
            self._failures: list[tuple[str, str]] = []  # (query | ingest | any, errorMessage), in order

    # -- how jobs run (control API) -----------------------------------------------------------

    def configure(self, in_progress_polls: Any = None, in_progress_seconds: Any = None,
                  fail_next: Any = None) -> None:
        """Polls a job answers InProgress, or seconds of sandbox clock it takes (0: count polls), and
        failures to inject: {"count": N, "kind": "query" | "ingest" | "any", "message": errorMessage}."""
        with self._lock:
            if in_progress_polls is not None:
                if isinstance(in_progress_polls, bool) or not isinstance(in_progress_polls, int) \
                        or in_progress_polls < 0:
                    raise ValueError("in_progress_polls must be an integer, 0 or more")
                self.in_progress_polls = in_progress_polls
            if in_progress_seconds is not None:
                if isinstance(in_progress_seconds, bool) or not isinstance(in_progress_seconds, int | float) \
                        or in_progress_seconds < 0:
                    raise ValueError("in_progress_seconds must be a number of seconds, 0 or more")
                self.in_progress_seconds = float(in_progress_seconds)
            if fail_next is not None:
                self._failures.extend(_failures(fail_next))

    def settings(self) -> dict[str, Any]:
        with self._lock:
            return {"in_progress_polls": self.in_progress_polls, "in_progress_seconds": self.in_progress_seconds,
                    "pending_failures": [{"kind": kind, "message": message} for kind, message in self._failures]}

    def _queue(self, job: Job) -> None:
        job.state, job.queued = "UploadComplete", self.state.clock.now()
        job.modified = job.queued
        job.polls_needed, job.seconds_needed = self.in_progress_polls, self.in_progress_seconds
        kind = "query" if job.is_query else "ingest"
        for index, (wanted, message) in enumerate(self._failures):
            if wanted in (kind, "any"):
                del self._failures[index]
                job.failure = message or (QUERY_FAILURE if job.is_query else INGEST_FAILURE)
                break

    def refresh(self, job: Job, status_poll: bool) -> None:
        """Move a queued job on: a status poll counts toward completion, and so does the sandbox clock."""
        with self._lock:
            if job.state not in _RUNNING:
                return
            now = self.state.clock.now()
            if status_poll:
                job.polls += 1
            if job.seconds_needed > 0:
                elapsed = (now - job.queued).total_seconds()  # type: ignore[operator]
                job.progress, done = min(1.0, elapsed / job.seconds_needed), elapsed >= job.seconds_needed
            else:
                job.progress, done = job.polls / (job.polls_needed + 1), job.polls > job.polls_needed
            if done:
                job.state = "Failed" if job.failure else "JobComplete"
                job.error_message = job.failure
                job.finished = job.modified = now
            elif status_poll and job.state != "InProgress":
                job.state, job.modified = "InProgress", now

    def info(self, job: Job) -> dict[str, Any]:
        return job.info(self.state.clock.now())

    # -- jobs -----------------------------------------------------------------------------------

    def create(self, body: Any, is_query: bool, api_version: str) -> Job:
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The job definition must be a JSON object")
        operation = body.get("operation")
        delimiter, line_ending = body.get("columnDelimiter", "COMMA"), body.get("lineEnding", "LF")
        if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
            raise ApiError(400, "INVALIDJOB", "InvalidJob : unsupported columnDelimiter or lineEnding")
        if is_query:
            if operation not in ("query", "queryAll") or not isinstance(body.get("query"), str):
                raise ApiError(400, "INVALIDJOB", "InvalidJob : a query job needs operation query or queryAll "
                                                  "and a query")
            columns, rows = self.state.query_rows(body["query"], include_deleted=operation == "queryAll")
            sobject = body["query"].split()[body["query"].upper().split().index("FROM") + 1]
            with self._lock:
                job = self._new(operation, sobject, api_version, delimiter, line_ending)
                job.query, job.columns, job.rows = body["query"], columns, rows
                self._queue(job)
            return job
        schema = self.state.schema_named(str(body.get("object", "")))
        if schema is None:
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {body.get('object')}")
        if operation not in INGEST_OPERATIONS:
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        external_id = body.get("externalIdFieldName")
        if operation == "upsert":
            spec = schema.field(str(external_id or ""))
            if spec is None or not (spec.external_id or spec.name == "Id"):
                raise ApiError(400, "INVALIDJOB", f"InvalidJob : External ID was blank or invalid for {schema.name}")
        job = self._new(operation, schema.name, api_version, delimiter, line_ending)
        job.external_id_field = external_id
        return job

    def _new(self, operation: str, sobject: str, api_version: str, delimiter: str, line_ending: str) -> Job:
        with self._lock:
            self._counter += 1
            job = Job(make_id("750", self._counter), operation, sobject, self.state.clock.now(), api_version,
                      delimiter, line_ending)
            self._jobs[job.id] = job
            return job

    def get(self, job_id: str, is_query: bool) -> Job:
        job = self._jobs.get(job_id)
        if job is None or job.is_query != is_query:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def delete(self, job_id: str, is_query: bool) -> None:
        job = self.get(job_id, is_query)
        with self._lock:
            del self._jobs[job.id]

    def upload(self, job: Job, text: str) -> None:
        if job.state != "Open":
            raise ApiError(409, "INVALIDJOBSTATE", f"Job {job.id} is not open for data upload")
        if job.upload is not None:
            raise ApiError(400, "BULK_API_ERROR",
                           f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / 'Delete' the "
                           "current Job then create a new Job and make sure you only do 'PUT' once on a given Job.")
        job.upload = text

    def set_state(self, job: Job, new_state: Any) -> None:
        with self._lock:
            self.refresh(job, status_poll=False)
            if new_state == "Aborted" and job.state not in _FINISHED:
                job.state = "Aborted"
                job.finished = job.modified = self.state.clock.now()
                return
            if new_state != "UploadComplete" or job.is_query or job.state != "Open":
                raise ApiError(400, "INVALIDJOBSTATE", f"Invalid job state transition: {job.state} -> {new_state}")
            if not job.upload:
                job.state, job.error_message = "Failed", "No data was uploaded for this job"
                job.finished = job.modified = self.state.clock.now()
                return
            self._queue(job)
            self._process(job)

    def require_results(self, job: Job) -> None:
        """Results exist once a job is done: a query job's when JobComplete, an ingest job's once it
        ended at all (a failed ingest job still reports its failed and unprocessed records)."""
        self.refresh(job, status_poll=False)
        if job.state == "JobComplete" or (not job.is_query and job.state in _FINISHED):
            return
        what = "query results" if job.is_query else "results"
        raise ApiError(412, "JOB_NOT_COMPLETE",
                       f"can only download {what} of successfully completed bulk job with status: JOB_COMPLETE. "
                       f"Current status: {_WIRE_STATES[job.state]}")

    def _process(self, job: Job) -> None:
        reader = csv.reader(io.StringIO(job.upload or "", newline=""), delimiter=DELIMITERS[job.column_delimiter])
        rows = [row for row in reader if row]
        header, records = rows[0], rows[1:]
        if job.failure:  # the job will fail: nothing is written
            job.unprocessed = [dict(zip(header, values, strict=False)) for values in records]
            return
        schema = self.state.schema_named(job.object)
        assert schema is not None
        for values in records:
            original = dict(zip(header, values, strict=False))
            try:
                record_id, created = self._apply(job, schema, original)
            except ApiError as error:
                detail = f"{error.error_code}:{error.message}:{','.join(error.fields or [])} --"
                job.failed.append({"sf__Id": original.get("Id", ""), "sf__Error": detail, **original})
                continue
            job.successful.append({"sf__Id": record_id, "sf__Created": "true" if created else "false", **original})

    def _apply(self, job: Job, schema: ObjectSchema, original: dict[str, str]) -> tuple[str, bool]:
        fields = _typed_fields(schema, original, creating=job.operation == "insert")
        record_id = str(fields.pop("Id", "") or "")
        if job.operation == "insert":
            return self.state.create(schema.name, fields), True
        if job.operation in ("update", "delete", "hardDelete") and not record_id:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified", fields=["Id"])
        if job.operation == "update":
            return self.state.update(schema.name, record_id, fields), False
        if job.operation in ("delete", "hardDelete"):
            return self.state.delete(schema.name, record_id), False
        assert job.external_id_field is not None
        key = str(fields.pop(schema.field(job.external_id_field).name, "") or "")  # type: ignore[union-attr]
        if not key:
            raise ApiError(400, "MISSING_ARGUMENT", f"{job.external_id_field} not specified",
                           fields=[job.external_id_field])
        return self.state.upsert(schema.name, job.external_id_field, key, fields, job.api_version)


def _typed_fields(schema: ObjectSchema, original: dict[str, str], creating: bool) -> dict[str, object]:
    """CSV text to JSON-like values of each field's type; empty leaves a field alone, #N/A nulls it."""
    fields: dict[str, object] = {}
    for name, text in original.items():
        spec = schema.field(name)
        if spec is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{schema.name}'", fields=[name])
        if text == "":
            continue
        if text == _NULL:
            fields[spec.name] = None
        elif spec.type == "boolean":
            if text.lower() not in ("true", "false", "1", "0"):
                raise ApiError(400, "INVALID_FIELD", f"{spec.label}: value not of required type: {text}",
                               fields=[spec.name])
            fields[spec.name] = text.lower() in ("true", "1")
        elif spec.type in NUMBER_TYPES:
            try:
                number = Decimal(text)
            except InvalidOperation as exc:
                raise ApiError(400, "INVALID_FIELD", f"{spec.label}: value not of required type: {text}",
                               fields=[spec.name]) from exc
            fields[spec.name] = int(number) if spec.type == "int" and number == number.to_integral() else number
        else:
            fields[spec.name] = text
    return fields


def _csv(job: Job, columns: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITERS[job.column_delimiter], lineterminator=LINE_ENDINGS[job.line_ending],
                        quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    writer.writerows([[_csv_value(value) for value in row] for row in rows])
    return out.getvalue()


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str) -> int:
    try:
        return int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from exc


def bulk_routes(api: SalesforceApi, jobs: BulkJobs, add: AddRoute) -> None:
    base = "/services/data/v{version}/jobs"

    def create(is_query: bool):  # noqa: ANN202 - a handler factory
        def handler(request: Request) -> Response:
            job = jobs.create(_json(request), is_query, request.params["version"])
            return Response.json(jobs.info(job))  # a query job answers UploadComplete: queued, not yet run
        return handler

    def info(is_query: bool):  # noqa: ANN202
        def handler(request: Request) -> Response:
            job = jobs.get(request.params["job_id"], is_query)
            jobs.refresh(job, status_poll=True)
            return Response.json(jobs.info(job))
        return handler

    def remove(is_query: bool):  # noqa: ANN202
        def handler(request: Request) -> Response:
            jobs.delete(request.params["job_id"], is_query)
            return Response(status=204)
        return handler

    def patch(is_query: bool):  # noqa: ANN202
        def handler(request: Request) -> Response:
            job = jobs.get(request.params["job_id"], is_query)
            body = _json(request)
            jobs.set_state(job, body.get("state") if isinstance(body, dict) else None)
            return Response.json(jobs.info(job))
        return handler

    def query_results(request: Request) -> Response:
        job = jobs.get(request.params["job_id"], True)
        jobs.require_results(job)
        offset = _offset(request.arg("locator") or "") if request.arg("locator") else 0
        max_records = request.arg("maxRecords")
        if max_records is not None and (not max_records.isdigit() or int(max_records) < 1):
            raise ApiError(400, "INVALIDPARAMETER", "maxRecords must be a positive integer")
        end = len(job.rows) if max_records is None else min(offset + int(max_records), len(job.rows))
        page = job.rows[offset:end]
        headers = {"Content-Type": CSV_TYPE + "; charset=UTF-8", "Sforce-NumberOfRecords": str(len(page)),
                   "Sforce-Locator": _locator(end) if end < len(job.rows) else "null"}
        return Response(status=200, body=_csv(job, job.columns, page).encode("utf-8"), headers=headers)

    def upload(request: Request) -> Response:
        job = jobs.get(request.params["job_id"], False)
        jobs.upload(job, request.body.decode("utf-8-sig"))
        return Response(status=201)

    def ingest_results(kind: str):  # noqa: ANN202
        def handler(request: Request) -> Response:
            job = jobs.get(request.params["job_id"], False)
            jobs.require_results(job)
            if kind == "successfulResults":
                columns, rows = ["sf__Id", "sf__Created"], job.successful
            elif kind == "failedResults":
                columns, rows = ["sf__Id", "sf__Error"], job.failed
            else:
                columns, rows = [], job.unprocessed
            header = _upload_header(job)
            table = [[row.get(name, "") for name in columns + header] for row in rows]
            body = _csv(job, columns + header, table).encode("utf-8")  # type: ignore[arg-type]
            return Response(status=200, body=body, headers={"Content-Type": CSV_TYPE + "; charset=UTF-8"})
        return handler

    for is_query, kind in ((True, "query"), (False, "ingest")):
        add("POST", f"{base}/{kind}", api.vendor(create(is_query)))
        add("GET", f"{base}/{kind}/{{job_id}}", api.vendor(info(is_query)))
        add("PATCH", f"{base}/{kind}/{{job_id}}", api.vendor(patch(is_query)))
        add("DELETE", f"{base}/{kind}/{{job_id}}", api.vendor(remove(is_query)))
    add("GET", f"{base}/query/{{job_id}}/results", api.vendor(query_results))
    add("PUT", f"{base}/ingest/{{job_id}}/batches", api.vendor(upload))
    for kind in ("successfulResults", "failedResults", "unprocessedrecords"):
        add("GET", f"{base}/ingest/{{job_id}}/{kind}", api.vendor(ingest_results(kind)))


def _failures(spec: Any) -> list[tuple[str, str]]:
    if not isinstance(spec, dict):
        raise ValueError("fail_next must be {\"count\": N, \"kind\": \"query\" | \"ingest\" | \"any\", "
                         "\"message\": errorMessage (optional)}")
    count, kind, message = spec.get("count", 1), spec.get("kind", "any"), spec.get("message") or ""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("fail_next.count must be an integer, 1 or more")
    if kind not in ("query", "ingest", "any") or not isinstance(message, str):
        raise ValueError("fail_next.kind must be query, ingest or any, and message a string")
    return [(kind, message)] * count


def _upload_header(job: Job) -> list[str]:
    if not job.upload:
        return []
    return next(csv.reader(io.StringIO(job.upload), delimiter=DELIMITERS[job.column_delimiter]), [])


def _json(request: Request) -> Any:
    try:
        return request.json()
    except ValueError as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc}") from exc

