"""Checks a REST write body the way a real org does before any DML: field names, access, types,
lengths, restricted picklists and required fields. Uniqueness needs the other rows, so it lives in
the store."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandboxes.salesforce.errors import ApiError
from sandboxes.salesforce.schema import NUMBER_TYPES, TEXT_TYPES, FieldSpec, ObjectSchema

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def validated_fields(schema: ObjectSchema, body: Any, creating: bool) -> dict[str, object]:
    """Canonical field name -> value; raises ApiError (400) with the vendor's error code."""
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object value")
    resolved: dict[str, tuple[FieldSpec, object]] = {}
    for key, value in body.items():
        if key == "attributes":  # clients echo it back from reads; the API ignores it
            continue
        spec = schema.field(key)
        if spec is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {schema.name}")
        resolved[spec.name] = (spec, value)
    refused = [name for name, (spec, _) in resolved.items() if not (spec.createable if creating else spec.updateable)]
    if refused:
        raise ApiError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(refused)}. Please check the security settings of this "
            "field and verify that it is read/write for your profile or permission set.",
            fields=refused,
        )
    fields = {name: _checked_value(spec, value) for name, (spec, value) in resolved.items()}
    required = [spec.name for spec in schema.fields if _required(spec, fields, creating)]
    if required:
        raise ApiError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(required)}]",
                       fields=required)
    return fields


def _required(spec: FieldSpec, fields: dict[str, object], creating: bool) -> bool:
    # Non-nillable fields with a default (CurrencyIsoCode, booleans) are filled in by the store instead.
    if not spec.required:
        return False
    if spec.name in fields:
        return fields[spec.name] is None
    return creating


def _checked_value(spec: FieldSpec, value: object) -> object:
    if spec.type in TEXT_TYPES:
        if value is not None and not isinstance(value, str):
            raise _cannot_deserialize(spec, value)
        if value == "":  # Salesforce stores an empty text value as null
            return None
        if isinstance(value, str) and spec.length and len(value) > spec.length:
            message = f"{spec.label}: data value too large: {value} (max length={spec.length})"
            raise ApiError(400, "STRING_TOO_LONG", message, fields=[spec.name])
        if spec.restricted_picklist and value is not None and value not in spec.picklist_values:
            raise ApiError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                           f"{spec.label}: bad value for restricted picklist field: {value}", fields=[spec.name])
        return value
    if spec.type in NUMBER_TYPES:
        # Request bodies are parsed with Decimal for fractions, so money never passes through a float.
        allowed = (int,) if spec.type == "int" else (int, Decimal)
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            value = Decimal(value.strip())  # Salesforce reads numeric strings into number fields
            if spec.type == "int" and value == value.to_integral():
                value = int(value)
        if value is not None and (isinstance(value, bool) or not isinstance(value, allowed)):
            raise _cannot_deserialize(spec, value)
        if isinstance(value, Decimal) and (spec.scale or spec.type == "currency"):  # Currency(18, 0) rounds too
            value = value.quantize(Decimal(1).scaleb(-spec.scale), rounding=ROUND_HALF_UP)
        return value
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise _cannot_deserialize(spec, value)
        return value
    if spec.type == "date" and value is not None:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise _cannot_deserialize(spec, value)
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise _cannot_deserialize(spec, value) from exc
    return value


def _cannot_deserialize(spec: FieldSpec, value: object) -> ApiError:
    return ApiError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {spec.type} from {type(value).__name__} value {value!r} "
        f"or request may be missing a required field ({spec.name})",
    )
