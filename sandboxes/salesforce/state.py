"""The sandbox org's data: rows of every sObject, open query cursors and the request log, behind one lock.

Rows are stored as the API returns them (datetimes already in Salesforce's text format), keyed by
Id in insertion order, one table per sObject. Query results are snapshotted into a cursor when the
query runs, as a real org does, so pages read later do not shift under writes made in between.
Deleted rows stay (IsDeleted = true, visible to queryAll and getDeleted) for the recycle bin's
15 days of sandbox clock, then are purged.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sandboxes.salesforce.clock import SandboxClock
from sandboxes.salesforce.derived import check_business_rules, derive_fields
from sandboxes.salesforce.errors import ApiError, not_found
from sandboxes.salesforce.ids import make_id
from sandboxes.salesforce.schema import FieldSpec, ObjectSchema
from sandboxes.salesforce.seeding import format_datetime, seed_rows
from sandboxes.salesforce.sobjects import SCHEMAS, schema_of_id
from sandboxes.salesforce.soql import SALESFORCE_DATETIME, SoqlError, compile_query, record_attributes
from sandboxes.salesforce.validation import validated_fields
from sandboxes.seed import SeedData

__all__ = ["SalesforceState", "format_datetime"]

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200  # the documented minimum of Sforce-Query-Options: batchSize
MAX_OPEN_CURSORS = 100
RECYCLE_BIN_RETENTION = timedelta(days=15)

# Deleting a parent deletes these children with it, as a real org's cascade does.
_CASCADES = {
    "Account": (("Contact", "AccountId"), ("Opportunity", "AccountId")),
    "Product2": (("PricebookEntry", "Product2Id"),),
    "Pricebook2": (("PricebookEntry", "Pricebook2Id"),),
}


def parse_datetime(text: str) -> datetime:
    return datetime.strptime(text, SALESFORCE_DATETIME)


class _Cursor:
    def __init__(self, records: list[dict], batch_size: int, resource: str) -> None:
        self.records = records
        self.batch_size = batch_size
        self.resource = resource  # query or queryAll, for the nextRecordsUrl


class _LockFault:
    """An injected UNABLE_TO_LOCK_ROW: the next `times` writes touching `ids` (any write if empty) fail."""

    def __init__(self, ids: set[str], times: int) -> None:
        self.ids = ids
        self.times = times


class _Transaction:
    """Restores the org's rows as they were when it began, if asked to (allOrNone)."""

    def __init__(self, state: SalesforceState) -> None:
        self._state = state
        self._saved = state._save_rows()

    def roll_back(self) -> None:
        self._state._restore_rows(self._saved)


class SalesforceState:
    def __init__(self, seed: SeedData, clock: SandboxClock | None = None) -> None:
        self._seed = seed
        self.clock = clock or SandboxClock()
        self._lock = threading.RLock()
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            # This org's own copy: custom fields added through the control API stay in this org.
            self.schemas: dict[str, ObjectSchema] = dict(SCHEMAS)
            self._tables: dict[str, OrderedDict[str, dict[str, Any]]] = {
                schema.name: OrderedDict() for schema in SCHEMAS.values()
            }
            self._by_id: dict[str, dict[str, Any]] = {}
            self._id15: dict[str, str] = {}
            self._deleted_at: dict[str, datetime] = {}
            self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
            self._requests: list[dict[str, Any]] = []
            self._counters: dict[str, int] = {}
            self._cursor_counter = 0
            self._lock_faults: list[_LockFault] = []
            self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
            for sobject, row in seed_rows(self._seed, self._new_id):
                self._store(sobject, row)
                self._last_stamp = max(self._last_stamp, parse_datetime(row["SystemModstamp"]))
            self.org_created = min((parse_datetime(row["CreatedDate"]) for row in self._by_id.values()),
                                   default=self._last_stamp)
            self.earliest_deleted_available = self.org_created

    # -- request log ---------------------------------------------------------------------------

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._requests]

    # -- queries -------------------------------------------------------------------------------

    def query(self, soql: str, include_deleted: bool, batch_size: int | None, api_version: str) -> dict[str, Any]:
        with self._lock:
            self._purge_recycle_bin()
            try:
                bound = compile_query(soql, self.schemas, self._parent, self.clock.now())
            except SoqlError as exc:
                raise ApiError(400, exc.error_code, exc.message) from exc
            table = self._tables[bound.schema.name]
            rows = [row for row in table.values() if include_deleted or not row["IsDeleted"]]
            matching = bound.run(rows)
            if bound.count_only:
                return {"totalSize": len(matching), "done": True, "records": []}
            records = [
                {"attributes": record_attributes(bound.schema.name, row["Id"], api_version),
                 **bound.project(row, api_version)}
                for row in matching
            ]
            size = DEFAULT_BATCH_SIZE if batch_size is None else _clamp_batch_size(batch_size)
            if len(records) <= size:
                return {"totalSize": len(records), "done": True, "records": records}
            self._cursor_counter += 1
            locator = make_id("01g", self._cursor_counter)
            self._cursors[locator] = _Cursor(records, size, "queryAll" if include_deleted else "query")
            while len(self._cursors) > MAX_OPEN_CURSORS:  # the oldest cursors expire first, as on a real org
                self._cursors.popitem(last=False)
            return self._page(locator, 0, api_version)

    def query_rows(self, soql: str, include_deleted: bool) -> tuple[list[str], list[list[object]]]:
        """(column names, row values) for a Bulk API query: parent fields flattened as Account.Name,
        dateTimes as the Bulk API writes them."""
        with self._lock:
            self._purge_recycle_bin()
            try:
                bound = compile_query(soql, self.schemas, self._parent, self.clock.now())
            except SoqlError as exc:
                raise ApiError(400, exc.error_code, exc.message) from exc
            if bound.count_only:
                raise ApiError(400, "INVALIDJOB", "Aggregate queries are not supported by Bulk API 2.0 query jobs")
            table = self._tables[bound.schema.name]
            rows = bound.run(row for row in table.values() if include_deleted or not row["IsDeleted"])
            if bound.offset:
                raise ApiError(400, "INVALIDJOB", "OFFSET is not supported by Bulk API 2.0 query jobs")
            values = [[_bulk_value(path.spec, path.value(row, self._parent)) for path in bound.paths] for row in rows]
            return list(bound.fields), values

    def query_more(self, locator_with_offset: str, api_version: str) -> dict[str, Any]:
        locator, _, offset_text = locator_with_offset.partition("-")
        with self._lock:
            if locator not in self._cursors or not offset_text.isdigit():
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return self._page(locator, int(offset_text), api_version)

    def _page(self, locator: str, offset: int, api_version: str) -> dict[str, Any]:
        cursor = self._cursors[locator]
        if offset >= len(cursor.records):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        end = offset + cursor.batch_size
        page: dict[str, Any] = {
            "totalSize": len(cursor.records),
            "done": end >= len(cursor.records),
            "records": cursor.records[offset:end],
        }
        if not page["done"]:
            page["nextRecordsUrl"] = f"/services/data/v{api_version}/{cursor.resource}/{locator}-{end}"
        return page

    def _parent(self, record_id: str) -> dict[str, Any] | None:
        """A live row by Id, for parent relationship fields (Account.Name)."""
        row = self._find(record_id)
        return row if row is not None and not row["IsDeleted"] else None

    # -- single records ------------------------------------------------------------------------

    def get(self, sobject: str, record_id: str, api_version: str, fields: list[str] | None = None) -> dict[str, Any]:
        with self._lock:
            schema = self._schema(sobject)
            return self._output(schema, self._live_row(schema, record_id), api_version, fields)

    def get_by_external_id(self, sobject: str, field_name: str, value: str, api_version: str) -> dict[str, Any]:
        with self._lock:
            schema = self._schema(sobject)
            if field_name.lower() == "id":
                return self._output(schema, self._live_row(schema, value), api_version, None)
            spec = self._external_id_field(schema, field_name)
            matches = self._matching(schema, spec, value)
            if len(matches) > 1:
                raise self._multiple_choices(schema, matches, api_version)
            if not matches:
                raise not_found()
            return self._output(schema, matches[0], api_version, None)

    def create(self, sobject: str, body: Any) -> str:
        with self._lock:
            schema = self._schema(sobject)
            self._check_lock_faults(None)
            return self._insert(schema, validated_fields(schema, body, creating=True))

    def update(self, sobject: str, record_id: str, body: Any) -> str:
        with self._lock:
            schema = self._schema(sobject)
            row = self._live_row(schema, record_id)
            self._check_lock_faults(row["Id"])
            self._apply(schema, row, validated_fields(schema, body, creating=False))
            return row["Id"]

    def upsert(self, sobject: str, field_name: str, value: str, body: Any, api_version: str) -> tuple[str, bool]:
        """(record Id, created?) for PATCH /sobjects/<sObject>/<external id field>/<value>."""
        with self._lock:
            schema = self._schema(sobject)
            spec = self._external_id_field(schema, field_name)
            if isinstance(body, dict):
                in_body = {key: item for key, item in body.items() if key.lower() == spec.name.lower()}
                if any(item != value for item in in_body.values()):
                    raise ApiError(400, "INVALID_FIELD",
                                   f"The value of {spec.name} in the request body must match the value in the URL")
                body = {key: item for key, item in body.items() if key not in in_body}
            matches = self._matching(schema, spec, value)
            if len(matches) > 1:
                raise self._multiple_choices(schema, matches, api_version)
            if matches:
                row = matches[0]
                self._check_lock_faults(row["Id"])
                self._apply(schema, row, validated_fields(schema, body, creating=False))
                return row["Id"], False
            self._check_lock_faults(None)
            fields = validated_fields(schema, body, creating=True)
            fields[spec.name] = value
            return self._insert(schema, fields), True

    def delete(self, sobject: str | None, record_id: str) -> str:
        """Delete a live record (and its cascade); `sobject` None accepts any type (collections)."""
        with self._lock:
            if sobject is None:
                found = self._find(record_id)
                if len(record_id) not in (15, 18):
                    raise ApiError(400, "MALFORMED_ID", f"malformed id {record_id}", fields=[])
                if found is None:
                    raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[])
                schema = self._schema(schema_of_id(found["Id"]).name)  # type: ignore[union-attr]
            else:
                schema = self._schema(sobject)
            row = self._live_row(schema, record_id)
            if schema.name == "Pricebook2" and row.get("IsStandard"):
                raise ApiError(400, "DELETE_FAILED", "You can't delete the standard price book.")
            self._check_lock_faults(row["Id"])
            self._delete_cascading(schema, row, self._next_stamp())
            return row["Id"]

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        """Hold the org for a multi-record call; `roll_back()` undoes every write made inside it."""
        with self._lock:
            yield _Transaction(self)

    def _save_rows(self) -> tuple[dict[str, list[dict[str, Any]]], dict[str, datetime]]:
        return ({name: [dict(row) for row in table.values()] for name, table in self._tables.items()},
                dict(self._deleted_at))

    def _restore_rows(self, saved: tuple[dict[str, list[dict[str, Any]]], dict[str, datetime]]) -> None:
        tables, deleted_at = saved
        self._tables = {name: OrderedDict() for name in self._tables}
        self._by_id, self._id15 = {}, {}
        for name, rows in tables.items():
            for row in rows:
                self._store(name, row)
        self._deleted_at = deleted_at

    # -- replication (getUpdated / getDeleted) -------------------------------------------------

    def updated_ids(self, sobject: str, start: datetime, end: datetime) -> list[str]:
        with self._lock:
            table = self._tables[self._schema(sobject).name]
            return [
                row["Id"] for row in table.values()
                if not row["IsDeleted"] and start <= parse_datetime(row["SystemModstamp"]) < end
            ]

    def deleted_records(self, sobject: str, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
        with self._lock:
            self._purge_recycle_bin()
            table = self._tables[self._schema(sobject).name]
            found = [
                (record_id, when) for record_id, when in self._deleted_at.items()
                if record_id in table and start <= when < end
            ]
            return sorted(found, key=lambda pair: pair[1])

    # -- control API ---------------------------------------------------------------------------

    def insert_unchecked(self, rows: Any, sobject: str = "Account") -> list[str]:
        """Insert rows as given, skipping uniqueness and required-field checks, so tests can plant
        states the API would refuse (duplicate external ids, drift). Field names must still exist."""
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ApiError(400, "JSON_PARSER_ERROR", f"expected a JSON list of {sobject} field objects")
        with self._lock:
            schema = self._schema(sobject)
            prepared = []
            for row in rows:
                unknown = [key for key in row if schema.field(key) is None]
                if unknown:
                    raise ApiError(400, "INVALID_FIELD",
                                   f"No such column(s) {unknown} on sobject of type {schema.name}")
                prepared.append({schema.field(key).name: value for key, value in row.items()})  # type: ignore[union-attr]
            return [self._insert(schema, fields, validate=False) for fields in prepared]

    def snapshot(self, sobject: str = "Account") -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._tables[self._schema(sobject).name].values()]

    def inject_lock_failures(self, ids: list[str], times: int) -> None:
        with self._lock:
            self._lock_faults.append(_LockFault({record_id[:15] for record_id in ids}, times))

    # -- schema --------------------------------------------------------------------------------

    def schema_named(self, name: str) -> ObjectSchema | None:
        return self.schemas.get(name.lower())

    def _schema(self, sobject: str) -> ObjectSchema:
        schema = self.schema_named(sobject)
        if schema is None:
            raise not_found()
        return schema

    def add_custom_field(self, sobject: str, spec: FieldSpec) -> None:
        """Add a custom field to `sobject` in this org, as an admin would in Setup: existing rows read
        it as null (or its default), and describe and SOQL know it from now on."""
        with self._lock:
            schema = self._schema(sobject)
            if not spec.name.endswith("__c"):
                raise ApiError(400, "INVALID_FIELD", f"custom field names end in __c: {spec.name}")
            if schema.field(spec.name) is not None:
                raise ApiError(400, "DUPLICATE_DEVELOPER_NAME", f"{schema.name} already has a field {spec.name}")
            self.schemas[schema.name.lower()] = ObjectSchema(schema.name, schema.label, schema.key_prefix,
                                                             (*schema.fields, spec), schema.label_plural)
            for row in self._tables[schema.name].values():
                row.setdefault(spec.name, spec.default)

    def custom_fields_added(self) -> dict[str, list[FieldSpec]]:
        """The fields added since the seed, per sObject (for snapshots)."""
        with self._lock:
            return {
                schema.name: list(schema.fields[len(SCHEMAS[key].fields):])
                for key, schema in self.schemas.items() if len(schema.fields) > len(SCHEMAS[key].fields)
            }

    # -- helpers -------------------------------------------------------------------------------

    def _new_id(self, key_prefix: str) -> str:
        self._counters[key_prefix] = self._counters.get(key_prefix, 0) + 1
        return make_id(key_prefix, self._counters[key_prefix])

    def _store(self, sobject: str, row: dict[str, Any]) -> None:
        self._tables[sobject][row["Id"]] = row
        self._by_id[row["Id"]] = row
        self._id15[row["Id"][:15]] = row["Id"]

    def _find(self, record_id: str) -> dict[str, Any] | None:
        row = self._by_id.get(record_id)
        if row is None and len(record_id) in (15, 18):
            full = self._id15.get(record_id[:15])
            row = self._by_id.get(full) if full else None
        return row

    def _insert(self, schema: ObjectSchema, fields: dict[str, Any], validate: bool = True) -> str:
        if validate:
            self._check_references(schema, fields)
            self._check_unique(schema, fields, exclude_id=None)
        stamp = format_datetime(self._next_stamp())
        row: dict[str, Any] = {spec.name: spec.default for spec in schema.fields}
        row.update({spec.name: False for spec in schema.fields if spec.type == "boolean" and spec.default is None})
        row.update({"Id": self._new_id(schema.key_prefix), "IsDeleted": False,
                    "CreatedDate": stamp, "LastModifiedDate": stamp, "SystemModstamp": stamp})
        row.update({name: value for name, value in fields.items() if value is not None})
        derive_fields(schema, row, fields, self._parent)
        if validate:
            check_business_rules(schema, row, self._tables)
        self._store(schema.name, row)
        return row["Id"]

    def _apply(self, schema: ObjectSchema, row: dict[str, Any], fields: dict[str, Any]) -> None:
        self._check_references(schema, fields)
        self._check_unique(schema, fields, exclude_id=row["Id"])
        candidate = {**row, **fields}
        derive_fields(schema, candidate, fields, self._parent)
        check_business_rules(schema, candidate, self._tables)
        row.update(candidate)
        self._touch(row)
        if schema.name == "Product2" and ("Name" in fields or "ProductCode" in fields):
            for entry in self._tables["PricebookEntry"].values():  # entries mirror their product's name
                if entry["Product2Id"] == row["Id"]:
                    entry["Name"], entry["ProductCode"] = row["Name"], row["ProductCode"]
                    self._touch(entry)

    def _delete_cascading(self, schema: ObjectSchema, row: dict[str, Any], when: datetime) -> None:
        row["IsDeleted"] = True
        row["LastModifiedDate"] = row["SystemModstamp"] = format_datetime(when)
        self._deleted_at[row["Id"]] = when
        for child_name, reference in _CASCADES.get(schema.name, ()):
            for child in list(self._tables[child_name].values()):
                if child.get(reference) == row["Id"] and not child["IsDeleted"]:
                    self._delete_cascading(self.schemas[child_name.lower()], child, when)

    def _purge_recycle_bin(self) -> None:
        """Physically remove rows deleted more than 15 days (of sandbox clock) ago."""
        cutoff = self.clock.now() - RECYCLE_BIN_RETENTION
        for record_id, when in list(self._deleted_at.items()):
            if when < cutoff:
                row = self._by_id.pop(record_id)
                self._id15.pop(record_id[:15], None)
                schema = schema_of_id(record_id)
                if schema is not None:
                    self._tables[schema.name].pop(record_id, None)
                del self._deleted_at[record_id]
                self.earliest_deleted_available = max(self.earliest_deleted_available, when)
                del row

    def _touch(self, row: dict[str, Any]) -> None:
        stamp = format_datetime(self._next_stamp())
        row["LastModifiedDate"] = row["SystemModstamp"] = stamp

    def _next_stamp(self) -> datetime:
        # Strictly increasing and never before the seeded data, whatever the host clock says, so
        # incremental reads by SystemModstamp always see a write as newer than what came before.
        now = self.clock.now()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the API keeps milliseconds
        self._last_stamp = max(now, self._last_stamp + timedelta(milliseconds=1))
        return self._last_stamp

    def _live_row(self, schema: ObjectSchema, record_id: str) -> dict[str, Any]:
        row = self._find(record_id)
        if row is None or not row["Id"].startswith(schema.key_prefix):
            raise not_found()
        if row["IsDeleted"]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return row

    def _check_lock_faults(self, record_id: str | None) -> None:
        for fault in self._lock_faults:
            if fault.times > 0 and (not fault.ids or (record_id is not None and record_id[:15] in fault.ids)):
                fault.times -= 1
                shown = record_id or "(new record)"
                raise ApiError(400, "UNABLE_TO_LOCK_ROW",
                               f"unable to obtain exclusive access to this record or 1 records: {shown}", fields=[])

    def _check_references(self, schema: ObjectSchema, fields: dict[str, Any]) -> None:
        for name, value in list(fields.items()):
            spec = schema.field(name)
            if spec is None or spec.type != "reference" or value is None:
                continue
            target = self.schema_named(spec.reference_to or "")
            if target is None or not isinstance(value, str) or not value.startswith(target.key_prefix):
                raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                               f"{spec.label}: id value of incorrect type: {value}", fields=[spec.name])
            parent = self._find(value)
            if parent is None or parent["IsDeleted"]:
                raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[spec.name])
            fields[name] = parent["Id"]  # a 15-character reference is stored in its 18-character form

    def _external_id_field(self, schema: ObjectSchema, field_name: str) -> FieldSpec:
        spec = schema.field(field_name)
        if spec is None or not spec.external_id:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {field_name}")
        return spec

    def _matching(self, schema: ObjectSchema, spec: FieldSpec, value: str) -> list[dict[str, Any]]:
        wanted = value if spec.case_sensitive else value.casefold()
        return [
            row for row in self._tables[schema.name].values()
            if not row["IsDeleted"] and isinstance(row.get(spec.name), str)
            and (row[spec.name] if spec.case_sensitive else row[spec.name].casefold()) == wanted
        ]

    def _check_unique(self, schema: ObjectSchema, fields: dict[str, Any], exclude_id: str | None) -> None:
        for name, value in fields.items():
            spec = schema.field(name)
            if spec is None or not spec.unique or value is None:
                continue
            for row in self._matching(schema, spec, value):
                if row["Id"] != exclude_id:
                    message = f"duplicate value found: {spec.name} duplicates value on record with id: {row['Id']}"
                    raise ApiError(400, "DUPLICATE_VALUE", message, fields=[])

    @staticmethod
    def _multiple_choices(schema: ObjectSchema, rows: list[dict[str, Any]], api_version: str) -> ApiError:
        urls = [f"/services/data/v{api_version}/sobjects/{schema.name}/{row['Id']}" for row in rows]
        return ApiError(300, "MULTIPLE_CHOICES", "more than one record matches", body=urls)

    @staticmethod
    def _output(schema: ObjectSchema, row: dict[str, Any], api_version: str,
                fields: list[str] | None) -> dict[str, Any]:
        if fields is None:
            chosen = [spec.name for spec in schema.fields]
        else:
            chosen = []
            for name in fields:
                spec = schema.field(name)
                if spec is None:
                    raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {schema.name}")
                chosen.append(spec.name)
        record = {name: row.get(name) for name in chosen}
        return {"attributes": record_attributes(schema.name, row["Id"], api_version), **record}


def _bulk_value(spec: FieldSpec, value: object) -> object:
    """Bulk API CSV writes dateTimes in UTC with a Z (2026-01-11T18:00:00.000Z), not REST's +0000."""
    if spec.type == "datetime" and isinstance(value, str) and value.endswith("+0000"):
        return value[:-5] + "Z"
    return value


def _clamp_batch_size(requested: int) -> int:
    # batchSize is a hint: Salesforce never pages by fewer than 200 or more than 2000 records.
    return min(max(requested, MIN_BATCH_SIZE), DEFAULT_BATCH_SIZE)

