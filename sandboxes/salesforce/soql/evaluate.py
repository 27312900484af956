"""Bind a parsed query to an sObject schema and run it over in-memory rows.

Binding is where INVALID_TYPE (unknown sObject), INVALID_FIELD (unknown column) and
INVALID_QUERY_FILTER_OPERATOR (a literal of the wrong type) come from, as on a real org. Running
follows SOQL semantics that differ from SQL: text comparisons ignore case, and `!=` / NOT IN
match rows whose field is null.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sandboxes.salesforce.schema import NUMBER_TYPES, TEXT_TYPES, FieldSpec, ObjectSchema
from sandboxes.salesforce.soql.lexer import SoqlError, StringLiteral, malformed, position
from sandboxes.salesforce.soql.parser import And, Comparison, Condition, FieldRef, Not, Or, Query, parse

MAX_OFFSET = 2000
SALESFORCE_DATETIME = "%Y-%m-%dT%H:%M:%S.%f%z"

Row = Mapping[str, object]
Predicate = Callable[[Row], bool]


@dataclass(frozen=True)
class BoundQuery:
    schema: ObjectSchema
    fields: tuple[str, ...]  # canonical names, in SELECT order
    count_only: bool
    predicate: Predicate
    order_by: tuple[tuple[FieldSpec, bool, bool], ...]  # (field, descending, nulls_last)
    limit: int | None
    offset: int

    def run(self, rows: Iterable[Row]) -> list[Row]:
        """Matching rows, ordered, after OFFSET and LIMIT (not yet projected)."""
        matching = [row for row in rows if self.predicate(row)]
        for spec, descending, nulls_last in reversed(self.order_by):  # stable sorts, last key first
            matching = _sorted(matching, spec, descending, nulls_last)
        end = None if self.limit is None else self.offset + self.limit
        return matching[self.offset:end]

    def project(self, row: Row) -> dict[str, object]:
        return {name: row.get(name) for name in self.fields}


def compile_query(text: str, schemas: Mapping[str, ObjectSchema]) -> BoundQuery:
    """Parse and bind `text`; raises SoqlError with the vendor's error code."""
    query = parse(text)
    schema = schemas.get(query.sobject.lower())
    if schema is None:
        row, column = position(text, query.sobject_pos)
        raise SoqlError(
            "INVALID_TYPE",
            f"\n{text}\nERROR at Row:{row}:Column:{column}\nsObject type '{query.sobject}' is not supported. "
            "If you are attempting to use a custom object, be sure to append the '__c' after the entity name.",
        )
    if query.offset is not None and query.offset > MAX_OFFSET:
        raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
    binder = _Binder(query, schema)
    return BoundQuery(
        schema=schema,
        fields=tuple(binder.resolve(ref).name for ref in query.fields),
        count_only=query.count_only,
        predicate=binder.predicate(query.where) if query.where is not None else (lambda row: True),
        order_by=tuple((binder.resolve(item.field), item.descending, item.nulls_last) for item in query.order_by),
        limit=query.limit,
        offset=query.offset or 0,
    )


class _Binder:
    def __init__(self, query: Query, schema: ObjectSchema) -> None:
        self.query = query
        self.schema = schema

    def resolve(self, ref: FieldRef) -> FieldSpec:
        spec = self.schema.field(ref.name)
        if spec is None:
            row, column = position(self.query.text, ref.pos)
            raise SoqlError(
                "INVALID_FIELD",
                f"\n{self.query.text}\nERROR at Row:{row}:Column:{column}\nNo such column '{ref.name}' on entity "
                f"'{self.schema.name}'. If you are attempting to use a custom field, be sure to append the '__c' "
                "after the custom field name. Please reference your WSDL or the describe call for the "
                "appropriate names.",
            )
        return spec

    def predicate(self, condition: Condition) -> Predicate:
        if isinstance(condition, And):
            parts = [self.predicate(part) for part in condition.parts]
            return lambda row: all(part(row) for part in parts)
        if isinstance(condition, Or):
            parts = [self.predicate(part) for part in condition.parts]
            return lambda row: any(part(row) for part in parts)
        if isinstance(condition, Not):
            inner = self.predicate(condition.part)
            return lambda row: not inner(row)
        return self.comparison(condition)

    def comparison(self, comparison: Comparison) -> Predicate:
        spec = self.resolve(comparison.field)
        operator = comparison.operator
        values = comparison.value if operator in ("IN", "NOT IN") else (comparison.value,)
        for value in values:  # type: ignore[union-attr]
            self.check_literal(spec, operator, value, comparison.field)
        if operator == "LIKE":
            pattern = re.compile(comparison.value.like_regex, re.IGNORECASE | re.DOTALL)  # type: ignore[union-attr]
            return lambda row: _like(pattern, row.get(spec.name))
        wanted = [_comparable(spec, _literal_value(value)) for value in values]  # type: ignore[union-attr]
        if operator in ("=", "IN"):
            return lambda row: _comparable(spec, _row_value(spec, row)) in wanted
        if operator in ("!=", "NOT IN"):
            return lambda row: _comparable(spec, _row_value(spec, row)) not in wanted
        return _ordering(spec, operator, wanted[0])

    def check_literal(self, spec: FieldSpec, operator: str, value: object, ref: FieldRef) -> None:
        if value is None:
            if operator in ("=", "!=", "IN", "NOT IN"):
                return
            raise malformed(self.query.text, ref.pos, f"invalid operator on null: {operator}")
        if operator == "LIKE" and spec.type not in TEXT_TYPES - {"id"}:
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on {spec.type} field: LIKE")
        expected = _literal_type_for(spec)
        if not isinstance(value, expected.python_types) or isinstance(value, bool) != (expected.name == "boolean"):
            quoting = "should " + ("" if expected.name == "string" else "not ") + "be enclosed in quotes"
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"\n{self.query.text}\nvalue of filter criterion for field '{spec.name}' must be of type "
                f"{expected.name} and {quoting}",
            )


@dataclass(frozen=True)
class _LiteralType:
    name: str
    python_types: tuple[type, ...]


def _literal_type_for(spec: FieldSpec) -> _LiteralType:
    if spec.type in TEXT_TYPES:
        return _LiteralType("string", (StringLiteral,))
    if spec.type == "boolean":
        return _LiteralType("boolean", (bool,))
    if spec.type in NUMBER_TYPES:
        return _LiteralType("double" if spec.type != "int" else "int", (int, Decimal))
    if spec.type == "datetime":
        return _LiteralType("dateTime", (datetime,))
    if spec.type == "date":
        return _LiteralType("date", (date,))
    raise SoqlError("INVALID_FIELD", f"field {spec.name} of type {spec.type} is not filterable")


def _literal_value(value: object) -> object:
    return value.text if isinstance(value, StringLiteral) else value


def _row_value(spec: FieldSpec, row: Row) -> object:
    value = row.get(spec.name)
    if spec.type == "datetime" and isinstance(value, str):
        return datetime.strptime(value, SALESFORCE_DATETIME)
    return value


def _comparable(spec: FieldSpec, value: object) -> object:
    """Text compares without case unless the field is case-sensitive (Ids, some unique fields)."""
    if isinstance(value, str) and not spec.case_sensitive:
        return value.casefold()
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def _like(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _ordering(spec: FieldSpec, operator: str, wanted: object) -> Predicate:
    def test(row: Row) -> bool:
        actual = _comparable(spec, _row_value(spec, row))
        if actual is None:
            return False
        if operator == "<":
            return actual < wanted  # type: ignore[operator]
        if operator == ">":
            return actual > wanted  # type: ignore[operator]
        if operator == "<=":
            return actual <= wanted  # type: ignore[operator]
        return actual >= wanted  # type: ignore[operator]

    return test


def _sorted(rows: list[Row], spec: FieldSpec, descending: bool, nulls_last: bool) -> list[Row]:
    nulls = [row for row in rows if row.get(spec.name) is None]
    present = sorted(
        (row for row in rows if row.get(spec.name) is not None),
        key=lambda row: _sort_key(spec, row),
        reverse=descending,
    )
    return present + nulls if nulls_last else nulls + present


def _sort_key(spec: FieldSpec, row: Row) -> object:
    # The same normalisation as comparisons, so `ORDER BY Id` and `Id > x` agree (keyset paging).
    return _comparable(spec, _row_value(spec, row))
