"""The QuickBooks Online query language: a small SQL-like SELECT, parsed and run over dicts.

Supported, as QuickBooks documents it: `SELECT * | COUNT(*) | f1, f2 FROM Entity
[WHERE f op v [AND ...]] [ORDERBY f [ASC|DESC][, ...]] [STARTPOSITION n] [MAXRESULTS n]`, with
ops =, <, >, <=, >=, LIKE (only % wildcards) and IN (...). No OR, no parentheses: QuickBooks has
neither, and a client that relies on them should fail here as it would there. String literals are
single-quoted; a backslash escapes the next character, so `\'` is an apostrophe and `\\` a backslash.
WHERE and ORDERBY take only the properties QuickBooks marks filterable / sortable (queryable.py); any
other is answered with QuickBooks' 4001 "is not queryable" Fault, as the real API does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from sandboxes.quickbooks.faults import not_queryable, query_parser_error

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000

_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "ORDERBY", "ASC", "DESC", "STARTPOSITION", "MAXRESULTS", "IN", "LIKE"}
_OPERATORS = {"=", "<", ">", "<=", ">="}


@dataclass(frozen=True)
class Token:
    kind: str  # word | string | number | symbol
    text: str
    position: int


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str  # = < > <= >= LIKE IN
    values: tuple[Any, ...]


@dataclass
class Query:
    entity: str
    count_only: bool = False
    fields: tuple[str, ...] | None = None  # None means *
    conditions: list[Condition] = field(default_factory=list)
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def tokenize(statement: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(statement):
        char = statement[index]
        if char.isspace():
            index += 1
        elif char == "'":
            index = _read_string(statement, index, tokens)
        elif char.isdigit() or (char == "-" and index + 1 < len(statement) and statement[index + 1].isdigit()):
            match = re.compile(r"-?\d+(\.\d+)?").match(statement, index)
            assert match is not None
            tokens.append(Token("number", match.group(0), index))
            index = match.end()
        elif char.isalpha() or char == "_":
            match = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*").match(statement, index)
            assert match is not None
            tokens.append(Token("word", match.group(0), index))
            index = match.end()
        elif statement.startswith(("<=", ">="), index):
            tokens.append(Token("symbol", statement[index : index + 2], index))
            index += 2
        elif char in "*(),=<>":
            tokens.append(Token("symbol", char, index))
            index += 1
        else:
            raise query_parser_error(f'Encountered "{char}" at line 1, column {index + 1}.')
    return tokens


def _read_string(statement: str, start: int, tokens: list[Token]) -> int:
    chars: list[str] = []
    index = start + 1
    while index < len(statement):
        char = statement[index]
        if char == "\\" and index + 1 < len(statement):
            chars.append(statement[index + 1])  # the escaped character stands for itself
            index += 2
        elif char == "'":
            tokens.append(Token("string", "".join(chars), start))
            return index + 1
        else:
            chars.append(char)
            index += 1
    raise query_parser_error(f"Lexical error at line 1, column {start + 1}: unterminated string literal")


class _Parser:
    def __init__(self, statement: str) -> None:
        self.tokens = tokenize(statement)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            raise query_parser_error(f"Encountered <EOF>, was expecting {expected}")
        self.index += 1
        return token

    def at_symbol(self, symbol: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "symbol" and token.text == symbol

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.upper() == word:
            self.index += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            token = self.peek()
            found = token.text if token else "<EOF>"
            raise query_parser_error(f'Encountered "{found}", was expecting "{word}"')

    def expect_symbol(self, symbol: str) -> None:
        token = self.next(f'"{symbol}"')
        if token.kind != "symbol" or token.text != symbol:
            raise query_parser_error(f'Encountered "{token.text}" at column {token.position + 1}, expecting "{symbol}"')

    def identifier(self) -> str:
        token = self.next("a property name")
        if token.kind != "word" or token.text.upper() in _KEYWORDS:
            raise query_parser_error(f'Encountered "{token.text}" at column {token.position + 1}, expecting a name')
        return token.text

    def integer(self) -> int:
        token = self.next("an integer")
        if token.kind != "number" or not token.text.lstrip("-").isdigit():
            raise query_parser_error(f'Encountered "{token.text}" at column {token.position + 1}, expecting integer')
        return int(token.text)

    def literal(self) -> Any:
        token = self.next("a value")
        if token.kind == "string":
            return token.text
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        raise query_parser_error(f'Encountered "{token.text}" at column {token.position + 1}, expecting a value')

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        count_only, fields = self.projection()
        self.expect_keyword("FROM")
        query = Query(entity=self.identifier(), count_only=count_only, fields=fields)
        if self.keyword("WHERE"):
            query.conditions.append(self.condition())
            while self.keyword("AND"):
                query.conditions.append(self.condition())
        if self.keyword("ORDERBY") or self._order_by():
            query.order_by.append(self.ordering())
            while self.at_symbol(","):
                self.index += 1
                query.order_by.append(self.ordering())
        if self.keyword("STARTPOSITION"):
            query.start_position = max(1, self.integer())
        if self.keyword("MAXRESULTS"):
            query.max_results = min(max(0, self.integer()), MAX_RESULTS_LIMIT)
        token = self.peek()
        if token is not None:
            raise query_parser_error(f'Encountered "{token.text}" at line 1, column {token.position + 1}.')
        return query

    def projection(self) -> tuple[bool, tuple[str, ...] | None]:
        token = self.next("a projection")
        if token.kind == "symbol" and token.text == "*":
            # "SELECT *, Sku FROM Item" (python-quickbooks sends it) asks for everything plus an extra column.
            while self.at_symbol(","):
                self.index += 1
                self.identifier()
            return False, None
        if token.kind == "word" and token.text.upper() == "COUNT":
            self.expect_symbol("(")
            self.expect_symbol("*")
            self.expect_symbol(")")
            return True, None
        self.index -= 1
        names = [self.identifier()]
        while self.at_symbol(","):
            self.index += 1
            names.append(self.identifier())
        return False, tuple(names)

    def condition(self) -> Condition:
        name = self.identifier()
        if self.keyword("IN"):
            self.expect_symbol("(")
            values = [self.literal()]
            while self.at_symbol(","):
                self.index += 1
                values.append(self.literal())
            self.expect_symbol(")")
            return Condition(name, "IN", tuple(values))
        if self.keyword("LIKE"):
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise query_parser_error("LIKE needs a string pattern")
            return Condition(name, "LIKE", (pattern,))
        token = self.next("an operator")
        if token.kind != "symbol" or token.text not in _OPERATORS:
            raise query_parser_error(f'Encountered "{token.text}" at column {token.position + 1}, expecting operator')
        return Condition(name, token.text, (self.literal(),))

    def _order_by(self) -> bool:
        """`ORDER BY` in two words, which QuickBooks accepts as well as ORDERBY."""
        token, following = self.peek(), self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
        if (token is not None and token.kind == "word" and token.text.upper() == "ORDER"
                and following is not None and following.kind == "word" and following.text.upper() == "BY"):
            self.index += 2
            return True
        return False

    def ordering(self) -> tuple[str, bool]:
        name = self.identifier()
        if self.keyword("DESC"):
            return name, True
        self.keyword("ASC")
        return name, False


def parse(statement: str) -> Query:
    return _Parser(statement).parse()


def field_value(entity: dict, path: str) -> Any:
    """A dotted property of an entity; a reference ({value, name}) compares by its value."""
    value: Any = entity
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, dict):
        return value.get("Address", value.get("value"))
    return value


def _comparable(path: str, stored: Any, literal: Any) -> tuple[Any, Any]:
    """Coerce both sides to one type, the way QuickBooks compares ids, amounts, dates and times."""
    try:
        if path.endswith("Time") and stored is not None:
            return _as_datetime(stored), _as_datetime(str(literal))
        if path.endswith("Date") and stored is not None:
            return date.fromisoformat(stored), date.fromisoformat(str(literal))
        if isinstance(stored, bool):
            return stored, literal is True or str(literal).lower() == "true"
        if isinstance(stored, int | Decimal):
            return Decimal(stored), Decimal(str(literal))
        if path == "Id" or path.endswith("Ref"):
            stored_text, literal_text = str(stored), str(literal)
            if stored_text.isdigit() and literal_text.isdigit():
                return int(stored_text), int(literal_text)
            return stored_text, literal_text
    except (ValueError, InvalidOperation) as exc:
        raise query_parser_error(f"invalid value {literal!r} for {path}") from exc
    return stored, literal


def _as_datetime(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:  # a bare date or time: QuickBooks reads it in the company's zone
        parsed = datetime.fromisoformat(text + ("T00:00:00" if "T" not in text else "") + "-08:00")
    return parsed


def _like(stored: Any, pattern: str) -> bool:
    regex = "".join(".*" if char == "%" else re.escape(char) for char in pattern)
    return stored is not None and re.fullmatch(regex, str(stored), flags=re.IGNORECASE | re.DOTALL) is not None


def matches(entity: dict, condition: Condition) -> bool:
    stored = field_value(entity, condition.field)
    if condition.operator == "LIKE":
        return _like(stored, condition.values[0])
    if stored is None:
        return False
    if condition.operator == "IN":
        return any(_equal(condition.field, stored, value) for value in condition.values)
    left, right = _comparable(condition.field, stored, condition.values[0])
    try:
        return {
            "=": left == right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[condition.operator]
    except TypeError as exc:
        raise query_parser_error(f"cannot compare {condition.field} with {condition.values[0]!r}") from exc


def _equal(path: str, stored: Any, literal: Any) -> bool:
    left, right = _comparable(path, stored, literal)
    return left == right


def _sort_key(entity: dict, path: str) -> tuple:
    value = field_value(entity, path)
    if value is None:
        return (0, "")
    if path == "Id" or path.endswith("Ref"):
        text = str(value)
        return (1, int(text)) if text.isdigit() else (2, text)
    if path.endswith("Time"):
        return (1, _as_datetime(value))
    return (1, value)


def check_queryable(query: Query, filterable: frozenset[str], sortable: frozenset[str]) -> None:
    """4001 for the first WHERE property that is not filterable, then the first ORDERBY one not sortable."""
    for condition in query.conditions:
        if condition.field not in filterable:
            raise not_queryable(condition.field)
    for path, _ in query.order_by:
        if path not in sortable:
            raise not_queryable(path)


def execute(query: Query, rows: list[dict], finish: Callable[[list[dict]], list[dict]] | None = None) -> dict:
    """Run a parsed query over `rows` (one entity's records); returns the QueryResponse body. `finish` turns the
    page's rows into what the answer shows (the company renders only the page, not every record it matched).
    The caller has run check_queryable on what the client asked (conditions it adds itself, such as the hidden
    Active filter, need no check)."""
    selected = [row for row in rows if all(matches(row, condition) for condition in query.conditions)]
    if query.count_only:
        return {"totalCount": len(selected)}
    selected.sort(key=lambda row: _sort_key(row, "Id"))  # ties in ORDERBY keep Id order: stable paging
    for path, descending in reversed(query.order_by):
        selected.sort(key=lambda row, path=path: _sort_key(row, path), reverse=descending)
    return answer(query, selected[query.start_position - 1 : query.start_position - 1 + query.max_results], finish)


def in_id_order(query: Query) -> bool:
    """True when the answer is in plain Id order (no ORDERBY, or ORDERBY Id ascending) and lists rows."""
    return not query.count_only and query.order_by in ([], [("Id", False)])


def execute_in_id_order(query: Query, rows: Iterable[dict],
                        finish: Callable[[list[dict]], list[dict]] | None = None) -> dict:
    """execute() for a query in_id_order over `rows` already in Id order: stops reading once the page is full.
    As for execute(), queryability is the caller's to check."""
    end = query.start_position - 1 + query.max_results
    selected = list(islice((row for row in rows if all(matches(row, c) for c in query.conditions)), end))
    return answer(query, selected[query.start_position - 1 :], finish)


def answer(query: Query, page: list[dict], finish: Callable[[list[dict]], list[dict]] | None) -> dict:
    """The QueryResponse body of a page of rows: rendered by `finish`, projected to the selected fields."""
    if not page:
        return {}
    if finish is not None:
        page = finish(page)
    if query.fields is not None:
        page = [{name: row[name] for name in query.fields if name in row} for row in page]
    return {query.entity: page, "startPosition": query.start_position, "maxResults": len(page)}
