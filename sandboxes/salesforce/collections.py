"""sObject Collections: create, update, upsert and delete up to 200 records in one call.

The call itself answers 200 whatever happens to the records; each record gets its own result
({id, success, errors[, created]}) in request order. With allOrNone, one failure rolls every record
back: the failing ones keep their own error, the others report ALL_OR_NONE_OPERATION_ROLLED_BACK.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandboxes.salesforce.errors import ApiError
from sandboxes.salesforce.sobjects import schema_named  # which sObject types exist (the same in every org)
from sandboxes.salesforce.state import SalesforceState

MAX_RECORDS = 200
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}

Result = dict[str, Any]


def create(state: SalesforceState, body: Any) -> list[Result]:
    records, all_or_none = _records(body)

    def one(record: dict[str, Any]) -> Result:
        sobject = _type_of(record)
        fields = {key: value for key, value in record.items() if key != "attributes"}
        if any(key.lower() == "id" for key in fields):
            raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", fields=["Id"])
        return {"id": state.create(sobject, fields), "success": True, "errors": []}

    return _run(state, records, all_or_none, one, id_of=lambda record: None)


def update(state: SalesforceState, body: Any) -> list[Result]:
    records, all_or_none = _records(body)

    def one(record: dict[str, Any]) -> Result:
        sobject = _type_of(record)
        record_id = _id_of(record)
        if not record_id:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", fields=[])
        fields = {key: value for key, value in record.items() if key != "attributes" and key.lower() != "id"}
        return {"id": state.update(sobject, record_id, fields), "success": True, "errors": []}

    return _run(state, records, all_or_none, one, id_of=_id_of)


def upsert(state: SalesforceState, sobject: str, field_name: str, body: Any, api_version: str) -> list[Result]:
    records, all_or_none = _records(body)
    schema = state.schema_named(sobject)
    spec = schema.field(field_name) if schema else None
    if spec is None or not spec.external_id:
        raise ApiError(404, "NOT_FOUND",
                       f"Provided external ID field does not exist or is not accessible: {field_name}")

    def one(record: dict[str, Any]) -> Result:
        declared = _type_of(record)
        if declared.lower() != sobject.lower():
            raise ApiError(400, "INVALID_TYPE", f"Record type {declared} does not match {sobject}", fields=[])
        value = next((item for key, item in record.items() if key.lower() == spec.name.lower()), None)
        if not isinstance(value, str) or not value:
            raise ApiError(400, "MISSING_ARGUMENT", f"{spec.name} not specified", fields=[spec.name])
        fields = {key: item for key, item in record.items() if key != "attributes"}
        record_id, created = state.upsert(sobject, spec.name, value, fields, api_version)
        return {"id": record_id, "success": True, "errors": [], "created": created}

    return _run(state, records, all_or_none, one, id_of=lambda record: None)


def delete(state: SalesforceState, ids_text: str | None, all_or_none_text: str | None) -> list[Result]:
    ids = [part.strip() for part in (ids_text or "").split(",") if part.strip()]
    if not ids:
        raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
    if len(ids) > MAX_RECORDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {MAX_RECORDS} "
                                                 "records into this call")
    all_or_none = (all_or_none_text or "").lower() == "true"

    def one(record_id: str) -> Result:
        return {"id": state.delete(None, record_id), "success": True, "errors": []}

    return _run(state, ids, all_or_none, one, id_of=lambda record_id: record_id)


def _run(state: SalesforceState, items: list[Any], all_or_none: bool, one: Callable[[Any], Result],
         id_of: Callable[[Any], str | None]) -> list[Result]:
    with state.transaction() as transaction:
        results: list[Result] = []
        failed = False
        for item in items:
            try:
                results.append(one(item))
            except ApiError as error:
                failed = True
                failure: Result = {"success": False, "errors": [_error(error)]}
                record_id = id_of(item) if isinstance(item, dict | str) else None
                if record_id:
                    failure = {"id": record_id, **failure}
                results.append(failure)
        if all_or_none and failed:
            transaction.roll_back()
            return [
                result if not result["success"] else _rolled_back(id_of(item) if isinstance(item, dict | str) else None)
                for item, result in zip(items, results, strict=True)
            ]
        return results


def _rolled_back(record_id: str | None) -> Result:
    result: Result = {"success": False, "errors": [dict(_ROLLED_BACK)]}
    return {"id": record_id, **result} if record_id else result


def _error(error: ApiError) -> dict[str, Any]:
    return {"statusCode": error.error_code, "message": error.message, "fields": error.fields or []}


def _records(body: Any) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be an object with a records array")
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {MAX_RECORDS} "
                                                 "records into this call")
    if not all(isinstance(record, dict) for record in records):
        raise ApiError(400, "JSON_PARSER_ERROR", "every entry of records must be an object")
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise ApiError(400, "JSON_PARSER_ERROR", "allOrNone must be a boolean")
    return records, all_or_none


def _type_of(record: dict[str, Any]) -> str:
    attributes = record.get("attributes")
    sobject = attributes.get("type") if isinstance(attributes, dict) else None
    if not isinstance(sobject, str) or schema_named(sobject) is None:
        raise ApiError(400, "INVALID_TYPE", "Must specify a valid sObject type in the attributes of each record",
                       fields=[])
    return sobject


def _id_of(record: dict[str, Any]) -> str | None:
    return next((value for key, value in record.items() if key.lower() == "id" and isinstance(value, str)), None)
