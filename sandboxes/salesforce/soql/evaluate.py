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
from datetime import UTC, date, datetime
from decimal import Decimal

from sandboxes.salesforce.schema import NUMBER_TYPES, TEXT_TYPES, FieldSpec, ObjectSchema
from sandboxes.salesforce.soql import relative_dates
from sandboxes.salesforce.soql.lexer import SoqlError, StringLiteral, malformed, position
from sandboxes.salesforce.soql.parser import And, Comparison, Condition, FieldRef, Not, Or, Query, parse
from sandboxes.salesforce.soql.relative_dates import RelativeDate

MAX_OFFSET = 2000
SALESFORCE_DATETIME = "%Y-%m-%dT%H:%M:%S.%f%z"

Row = Mapping[str, object]
Predicate = Callable[[Row], bool]


Lookup = Callable[[str], "Row | None"]


def _no_parents(record_id: str) -> Row | None:
    return None


@dataclass(frozen=True)
class FieldPath:
    """A selected or filtered field, possibly through parent relationships (Account.Name)."""

    name: str  # canonical spelling, e.g. "Account.Name"
    spec: FieldSpec  # the field at the end of the path
    hops: tuple[tuple[FieldSpec, ObjectSchema], ...]  # (reference field, parent schema) per relationship

    def value(self, row: Row | None, lookup: Lookup) -> object:
        for reference, _ in self.hops:
            if row is None:
                return None
            parent_id = row.get(reference.name)
            row = lookup(parent_id) if isinstance(parent_id, str) else None
        return None if row is None else row.get(self.spec.name)


@dataclass(frozen=True)
class BoundQuery:
    schema: ObjectSchema
    paths: tuple[FieldPath, ...]  # in SELECT order
    count_only: bool
    predicate: Predicate
    order_by: tuple[tuple[FieldPath, bool, bool], ...]  # (field, descending, nulls_last)
    limit: int | None
    offset: int
    lookup: Lookup = _no_parents

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(path.name for path in self.paths)

    def run(self, rows: Iterable[Row]) -> list[Row]:
        """Matching rows, ordered, after OFFSET and LIMIT (not yet projected)."""
        matching = [row for row in rows if self.predicate(row)]
        for path, descending, nulls_last in reversed(self.order_by):  # stable sorts, last key first
            matching = _sorted(matching, path, descending, nulls_last, self.lookup)
        end = None if self.limit is None else self.offset + self.limit
        return matching[self.offset:end]

    def project(self, row: Row, api_version: str = "59.0") -> dict[str, object]:
        """The selected fields; parent fields nest under the relationship name with their own attributes."""
        record: dict[str, object] = {}
        for path in self.paths:
            if not path.hops:
                record[path.spec.name] = row.get(path.spec.name)
                continue
            self._project_parent(record, row, path, api_version)
        return record

    def _project_parent(self, record: dict[str, object], row: Row, path: FieldPath, api_version: str) -> None:
        target: dict[str, object] = record
        current: Row | None = row
        for reference, parent_schema in path.hops:
            key = reference.relationship_name or reference.name
            parent_id = current.get(reference.name) if current is not None else None
            current = self.lookup(parent_id) if isinstance(parent_id, str) else None
            if current is None:
                target.setdefault(key, None)  # a missing parent is null, not an empty object
                return
            nested = target.get(key)
            if not isinstance(nested, dict):
                nested = {"attributes": record_attributes(parent_schema.name, str(current["Id"]), api_version)}
                target[key] = nested
            target = nested
        target[path.spec.name] = current.get(path.spec.name) if current is not None else None


def record_attributes(sobject: str, record_id: str, api_version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{api_version}/sobjects/{sobject}/{record_id}"}


def compile_query(text: str, schemas: Mapping[str, ObjectSchema], lookup: Lookup = _no_parents,
                  now: datetime | None = None) -> BoundQuery:
    """Parse and bind `text`; raises SoqlError with the vendor's error code. `lookup` finds parent rows by Id;
    `now` (the sandbox clock) anchors relative date literals such as TODAY."""
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
    binder = _Binder(query, schema, schemas, lookup, now or datetime.now(UTC))
    return BoundQuery(
        schema=schema,
        paths=tuple(binder.resolve(ref) for ref in query.fields),
        count_only=query.count_only,
        predicate=binder.predicate(query.where) if query.where is not None else (lambda row: True),
        order_by=tuple((binder.resolve(item.field), item.descending, item.nulls_last) for item in query.order_by),
        limit=query.limit,
        offset=query.offset or 0,
        lookup=lookup,
    )


class _Binder:
    def __init__(self, query: Query, schema: ObjectSchema, schemas: Mapping[str, ObjectSchema],
                 lookup: Lookup, now: datetime) -> None:
        self.now = now
        self.query = query
        self.schema = schema
        self.schemas = schemas
        self.lookup = lookup

    def resolve(self, ref: FieldRef) -> FieldPath:
        *relationships, name = ref.name.split(".")
        if relationships and relationships[0].lower() == self.schema.name.lower():
            relationships = relationships[1:]  # SOQL allows the object name as a prefix: Account.Name FROM Account
        schema = self.schema
        hops: list[tuple[FieldSpec, ObjectSchema]] = []
        canonical: list[str] = []
        for relationship in relationships:
            reference = schema.relationship(relationship)
            parent = self.schemas.get((reference.reference_to or "").lower()) if reference else None
            if reference is None or parent is None:
                raise self._no_such_column(relationship, schema, ref.pos)
            hops.append((reference, parent))
            canonical.append(reference.relationship_name or reference.name)
            schema = parent
        spec = schema.field(name)
        if spec is None:
            raise self._no_such_column(name, schema, ref.pos)
        return FieldPath(".".join([*canonical, spec.name]), spec, tuple(hops))

    def _no_such_column(self, name: str, schema: ObjectSchema, pos: int) -> SoqlError:
        row, column = position(self.query.text, pos)
        return SoqlError(
            "INVALID_FIELD",
            f"\n{self.query.text}\nERROR at Row:{row}:Column:{column}\nNo such column '{name}' on entity "
            f"'{schema.name}'. If you are attempting to use a custom field, be sure to append the '__c' "
            "after the custom field name. Please reference your WSDL or the describe call for the "
            "appropriate names.",
        )

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
        path = self.resolve(comparison.field)
        spec = path.spec
        lookup = self.lookup

        def value_of(row: Row) -> object:
            return _typed(spec, path.value(row, lookup))

        operator = comparison.operator
        values = comparison.value if operator in ("IN", "NOT IN") else (comparison.value,)
        for value in values:  # type: ignore[union-attr]
            self.check_literal(spec, operator, value, comparison.field)
        if any(isinstance(value, RelativeDate) for value in values):  # type: ignore[union-attr]
            return self._relative(spec, operator, values, value_of)  # type: ignore[arg-type]
        if operator == "LIKE":
            pattern = re.compile(comparison.value.like_regex, re.IGNORECASE | re.DOTALL)  # type: ignore[union-attr]
            return lambda row: _like(pattern, path.value(row, lookup))
        wanted = [_comparable(spec, _literal_value(value)) for value in values]  # type: ignore[union-attr]
        if operator in ("=", "IN"):
            return lambda row: _comparable(spec, value_of(row)) in wanted
        if operator in ("!=", "NOT IN"):
            return lambda row: _comparable(spec, value_of(row)) not in wanted
        return _ordering(spec, operator, wanted[0], value_of)

    def _relative(self, spec: FieldSpec, operator: str, values: tuple[object, ...],
                  value_of: Callable[[Row], object]) -> Predicate:
        """A comparison with TODAY, YESTERDAY or LAST_N_DAYS:n: a range of days on the sandbox clock."""
        if operator in ("IN", "NOT IN") and not all(isinstance(value, RelativeDate) for value in values):
            raise SoqlError("MALFORMED_QUERY", "IN cannot mix relative date literals with other values")
        bounds = [relative_dates.predicate_bounds(value, self.now, spec.type == "datetime")  # type: ignore[arg-type]
                  for value in values]
        if operator == "NOT IN":
            return lambda row: (actual := value_of(row)) is not None and all(
                not relative_dates.compare("=", actual, start, end) for start, end in bounds)
        return lambda row: (actual := value_of(row)) is not None and any(
            relative_dates.compare(operator, actual, start, end) for start, end in bounds)

    def check_literal(self, spec: FieldSpec, operator: str, value: object, ref: FieldRef) -> None:
        if isinstance(value, RelativeDate):
            if spec.type not in ("date", "datetime") or operator == "LIKE":
                raise SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"\n{self.query.text}\nvalue of filter criterion for field '{spec.name}' must be of type "
                    f"{_literal_type_for(spec).name} and should not be a relative date literal",
                )
            return
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


def _typed(spec: FieldSpec, value: object) -> object:
    """A stored value as its literal type: rows keep datetimes and dates in their wire text."""
    if spec.type == "datetime" and isinstance(value, str):
        return datetime.strptime(value, SALESFORCE_DATETIME)
    if spec.type == "date" and isinstance(value, str):
        return date.fromisoformat(value)
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


def _ordering(spec: FieldSpec, operator: str, wanted: object, value_of: Callable[[Row], object]) -> Predicate:
    def test(row: Row) -> bool:
        actual = _comparable(spec, value_of(row))
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


def _sorted(rows: list[Row], path: FieldPath, descending: bool, nulls_last: bool, lookup: Lookup) -> list[Row]:
    # The same normalisation as comparisons, so `ORDER BY Id` and `Id > x` agree (keyset paging).
    keyed = [(_comparable(path.spec, _typed(path.spec, path.value(row, lookup))), row) for row in rows]
    nulls = [row for key, row in keyed if key is None]
    present = [row for key, row in sorted(
        ((key, row) for key, row in keyed if key is not None), key=lambda pair: pair[0], reverse=descending)]
    return present + nulls if nulls_last else nulls + present
