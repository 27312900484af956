"""The sandbox org's data: Account rows, open query cursors and the request log, behind one lock.

Rows are stored as the API returns them (datetimes already in Salesforce's text format), keyed by
Id in insertion order. Query results are snapshotted into a cursor when the query runs, as a real
org does, so pages read later do not shift under writes made in between.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from sandboxes.salesforce.errors import ApiError, not_found
from sandboxes.salesforce.ids import make_id
from sandboxes.salesforce.schema import ACCOUNT, CORPORATE_CURRENCY, SCHEMAS, FieldSpec
from sandboxes.salesforce.soql import SALESFORCE_DATETIME, SoqlError, compile_query
from sandboxes.salesforce.validation import validated_fields
from sandboxes.seed import SeedAccount, SeedData

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200  # the documented minimum of Sforce-Query-Options: batchSize
MAX_OPEN_CURSORS = 100

# Seed accounts carry no country: derive one from the currency, deterministically.
_COUNTRY_BY_CURRENCY = {
    "usd": "United States", "eur": "Germany", "gbp": "United Kingdom", "jpy": "Japan", "kwd": "Kuwait",
}


def format_datetime(moment: datetime) -> str:
    """Salesforce's wire format: milliseconds and a +0000 offset, e.g. 2026-01-01T00:00:00.000+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _parse_datetime(text: str) -> datetime:
    return datetime.strptime(text, SALESFORCE_DATETIME)


class _Cursor:
    def __init__(self, records: list[dict], batch_size: int) -> None:
        self.records = records
        self.batch_size = batch_size


class SalesforceState:
    def __init__(self, seed: SeedData) -> None:
        self._seed = seed
        self._lock = threading.RLock()
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._accounts: OrderedDict[str, dict[str, Any]] = OrderedDict()
            self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
            self._requests: list[dict[str, Any]] = []
            self._id_counter = 0
            self._cursor_counter = 0
            self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
            for index, account in enumerate(self._seed.accounts):
                row = _seed_row(account, index)
                self._accounts[row["Id"]] = row
                self._last_stamp = max(self._last_stamp, _parse_datetime(row["SystemModstamp"]))

    # -- request log ---------------------------------------------------------------------------

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._requests]

    # -- queries -------------------------------------------------------------------------------

    def query(self, soql: str, include_deleted: bool, batch_size: int | None, api_version: str) -> dict[str, Any]:
        try:
            bound = compile_query(soql, SCHEMAS)
        except SoqlError as exc:
            raise ApiError(400, exc.error_code, exc.message) from exc
        with self._lock:
            rows = [row for row in self._accounts.values() if include_deleted or not row["IsDeleted"]]
            matching = bound.run(rows)
            if bound.count_only:
                return {"totalSize": len(matching), "done": True, "records": []}
            records = [_with_attributes(bound.project(row), row["Id"], api_version) for row in matching]
            size = DEFAULT_BATCH_SIZE if batch_size is None else _clamp_batch_size(batch_size)
            if len(records) <= size:
                return {"totalSize": len(records), "done": True, "records": records}
            self._cursor_counter += 1
            locator = make_id("01g", self._cursor_counter)
            self._cursors[locator] = _Cursor(records, size)
            while len(self._cursors) > MAX_OPEN_CURSORS:  # the oldest cursors expire first, as on a real org
                self._cursors.popitem(last=False)
            return self._page(locator, 0, api_version)

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
            page["nextRecordsUrl"] = f"/services/data/v{api_version}/query/{locator}-{end}"
        return page

    # -- single records ------------------------------------------------------------------------

    def get(self, record_id: str, api_version: str, fields: list[str] | None = None) -> dict[str, Any]:
        with self._lock:
            row = self._live_row(record_id)
            return self._output(row, api_version, fields)

    def get_by_external_id(self, field_name: str, value: str, api_version: str) -> dict[str, Any]:
        with self._lock:
            spec = self._external_id_field(field_name)
            matches = self._matching(spec, value)
            if len(matches) > 1:
                raise self._multiple_choices(matches, api_version)
            if not matches:
                raise not_found()
            return self._output(matches[0], api_version, None)

    def create(self, body: Any) -> str:
        with self._lock:
            fields = validated_fields(ACCOUNT, body, creating=True)
            return self._insert(fields)

    def update(self, record_id: str, body: Any) -> None:
        with self._lock:
            row = self._live_row(record_id)
            fields = validated_fields(ACCOUNT, body, creating=False)
            self._check_unique(fields, exclude_id=row["Id"])
            row.update(fields)
            self._touch(row)

    def upsert(self, field_name: str, value: str, body: Any, api_version: str) -> tuple[str, bool]:
        """(record Id, created?) for PATCH /sobjects/Account/<external id field>/<value>."""
        with self._lock:
            spec = self._external_id_field(field_name)
            if isinstance(body, dict):
                in_body = {key: item for key, item in body.items() if key.lower() == spec.name.lower()}
                if any(item != value for item in in_body.values()):
                    raise ApiError(400, "INVALID_FIELD",
                                   f"The value of {spec.name} in the request body must match the value in the URL")
                body = {key: item for key, item in body.items() if key not in in_body}
            matches = self._matching(spec, value)
            if len(matches) > 1:
                raise self._multiple_choices(matches, api_version)
            if matches:
                row = matches[0]
                fields = validated_fields(ACCOUNT, body, creating=False)
                self._check_unique(fields, exclude_id=row["Id"])
                row.update(fields)
                self._touch(row)
                return row["Id"], False
            fields = validated_fields(ACCOUNT, body, creating=True)
            fields[spec.name] = value
            return self._insert(fields), True

    def delete(self, record_id: str) -> None:
        with self._lock:
            row = self._live_row(record_id)
            row["IsDeleted"] = True
            self._touch(row)

    # -- control API ---------------------------------------------------------------------------

    def insert_unchecked(self, rows: Any) -> list[str]:
        """Insert rows as given, skipping uniqueness and required-field checks, so tests can plant
        states the API would refuse (duplicate external ids, drift). Field names must still exist."""
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ApiError(400, "JSON_PARSER_ERROR", "expected a JSON list of Account field objects")
        with self._lock:
            prepared = []
            for row in rows:
                unknown = [key for key in row if ACCOUNT.field(key) is None]
                if unknown:
                    raise ApiError(400, "INVALID_FIELD", f"No such column(s) {unknown} on sobject of type Account")
                prepared.append({ACCOUNT.field(key).name: value for key, value in row.items()})  # type: ignore[union-attr]
            return [self._insert(fields, validate_unique=False) for fields in prepared]

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._accounts.values()]

    # -- helpers -------------------------------------------------------------------------------

    def _insert(self, fields: dict[str, Any], validate_unique: bool = True) -> str:
        if validate_unique:
            self._check_unique(fields, exclude_id=None)
        stamp = format_datetime(self._next_stamp())
        self._id_counter += 1
        row: dict[str, Any] = {spec.name: None for spec in ACCOUNT.fields}
        row.update({
            "Id": make_id(ACCOUNT.key_prefix, self._id_counter),
            "IsDeleted": False,
            "CurrencyIsoCode": CORPORATE_CURRENCY,
            "CreatedDate": stamp,
            "LastModifiedDate": stamp,
            "SystemModstamp": stamp,
        })
        row.update({name: value for name, value in fields.items() if value is not None})
        self._accounts[row["Id"]] = row
        return row["Id"]

    def _touch(self, row: dict[str, Any]) -> None:
        stamp = format_datetime(self._next_stamp())
        row["LastModifiedDate"] = row["SystemModstamp"] = stamp

    def _next_stamp(self) -> datetime:
        # Strictly increasing and never before the seeded data, whatever the host clock says, so
        # incremental reads by LastModifiedDate always see a write as newer than what came before.
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the API keeps milliseconds
        self._last_stamp = max(now, self._last_stamp + timedelta(milliseconds=1))
        return self._last_stamp

    def _live_row(self, record_id: str) -> dict[str, Any]:
        row = self._accounts.get(record_id) or self._accounts_by_id15().get(record_id)
        if row is None:
            raise not_found()
        if row["IsDeleted"]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return row

    def _accounts_by_id15(self) -> dict[str, dict[str, Any]]:
        return {record_id[:15]: row for record_id, row in self._accounts.items()}

    def _external_id_field(self, field_name: str) -> FieldSpec:
        spec = ACCOUNT.field(field_name)
        if spec is None or not spec.external_id:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {field_name}")
        return spec

    def _matching(self, spec: FieldSpec, value: str) -> list[dict[str, Any]]:
        wanted = value if spec.case_sensitive else value.casefold()
        return [
            row for row in self._accounts.values()
            if not row["IsDeleted"] and isinstance(row.get(spec.name), str)
            and (row[spec.name] if spec.case_sensitive else row[spec.name].casefold()) == wanted
        ]

    def _check_unique(self, fields: dict[str, Any], exclude_id: str | None) -> None:
        for name, value in fields.items():
            spec = ACCOUNT.field(name)
            if spec is None or not spec.unique or value is None:
                continue
            for row in self._matching(spec, value):
                if row["Id"] != exclude_id:
                    message = f"duplicate value found: {spec.name} duplicates value on record with id: {row['Id']}"
                    raise ApiError(400, "DUPLICATE_VALUE", message, fields=[])

    @staticmethod
    def _multiple_choices(rows: list[dict[str, Any]], api_version: str) -> ApiError:
        urls = [f"/services/data/v{api_version}/sobjects/Account/{row['Id']}" for row in rows]
        return ApiError(300, "MULTIPLE_CHOICES", "more than one record matches", body=urls)

    @staticmethod
    def _output(row: dict[str, Any], api_version: str, fields: list[str] | None) -> dict[str, Any]:
        if fields is None:
            chosen = [spec.name for spec in ACCOUNT.fields]
        else:
            chosen = []
            for name in fields:
                spec = ACCOUNT.field(name)
                if spec is None:
                    raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type Account")
                chosen.append(spec.name)
        return _with_attributes({name: row.get(name) for name in chosen}, row["Id"], api_version)


def _clamp_batch_size(requested: int) -> int:
    # batchSize is a hint: Salesforce never pages by fewer than 200 or more than 2000 records.
    return min(max(requested, MIN_BATCH_SIZE), DEFAULT_BATCH_SIZE)


def _with_attributes(record: dict[str, Any], record_id: str, api_version: str) -> dict[str, Any]:
    url = f"/services/data/v{api_version}/sobjects/Account/{record_id}"
    return {"attributes": {"type": "Account", "url": url}, **record}


def _seed_row(account: SeedAccount, index: int) -> dict[str, Any]:
    created = format_datetime(datetime.fromtimestamp(account.created, UTC))
    return {
        "Id": account.salesforce_id,
        "IsDeleted": False,
        "Name": account.name,
        "Type": "Customer",
        "BillingCountry": _COUNTRY_BY_CURRENCY.get(account.currency),
        "Website": "https://" + account.email.split("@", 1)[1],
        "NumberOfEmployees": 10 * (index + 1),
        "CurrencyIsoCode": account.currency.upper(),
        "Stripe_Customer_Id__c": account.stripe_customer_id,
        "CreatedDate": created,
        "LastModifiedDate": created,
        "SystemModstamp": created,
    }
