"""A recursive-descent parser for the SOQL subset, producing a syntax tree with no schema knowledge.

Grammar (as Salesforce enforces it, including its refusal of ambiguous logic):

    query     := SELECT (COUNT '(' ')' | field (',' field)*) FROM ident
                 [WHERE condition] [ORDER BY order (',' order)*] [LIMIT int] [OFFSET int]
    condition := NOT operand | operand (AND operand)* | operand (OR operand)*
    operand   := '(' condition ')' | field comparator
    comparator:= op value | LIKE string | IN list | NOT IN list

Mixing AND with OR, or putting NOT after AND/OR, without parentheses is MALFORMED_QUERY
("unexpected token: OR"), exactly as the real API answers, so a client that passes here does not
fail against a real org.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.salesforce.soql.lexer import Token, malformed, tokenize

LITERAL_KINDS = frozenset({"string", "number", "datetime", "date"})
LITERAL_KEYWORDS = {"NULL": None, "TRUE": True, "FALSE": False}


@dataclass(frozen=True)
class FieldRef:
    name: str
    pos: int


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    operator: str  # = != < > <= >= LIKE IN NOT IN
    value: object  # a literal, or a tuple of literals for IN / NOT IN


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Comparison | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[FieldRef, ...]  # empty for SELECT COUNT()
    count_only: bool
    sobject: str
    sobject_pos: int
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


def parse(text: str) -> Query:
    return _Parser(text).query()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers -------------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.current.kind == "keyword" and self.current.text in words

    def unexpected(self) -> Exception:
        token = self.current
        shown = "<EOF>" if token.kind == "eof" else token.text
        return malformed(self.text, token.pos, f"unexpected token: '{shown}'")

    def expect_keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            raise self.unexpected()
        return self.advance()

    def expect(self, kind: str) -> Token:
        if self.current.kind != kind:
            raise self.unexpected()
        return self.advance()

    # -- grammar -------------------------------------------------------------------------------

    def query(self) -> Query:
        self.expect_keyword("SELECT")
        fields: tuple[FieldRef, ...] = ()
        count_only = self.at_keyword("COUNT")
        if count_only:
            self.advance()
            self.expect("(")
            self.expect(")")
        else:
            fields = self.field_list()
        self.expect_keyword("FROM")
        sobject = self.expect("ident")
        where = None
        if self.at_keyword("WHERE"):
            self.advance()
            where = self.condition()
        order_by: tuple[OrderItem, ...] = ()
        if self.at_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            order_by = self.order_list()
        limit = self.integer_clause("LIMIT")
        offset = self.integer_clause("OFFSET")
        self.expect("eof")
        return Query(self.text, fields, count_only, sobject.text, sobject.pos, where, order_by, limit, offset)

    def field_list(self) -> tuple[FieldRef, ...]:
        fields = [self.field()]
        while self.current.kind == ",":
            self.advance()
            fields.append(self.field())
        seen: set[str] = set()
        for field in fields:
            if field.name.lower() in seen:
                raise malformed(self.text, field.pos, f"duplicate field selected: {field.name}")
            seen.add(field.name.lower())
        return tuple(fields)

    def field(self) -> FieldRef:
        token = self.expect("ident")
        return FieldRef(token.text, token.pos)

    def condition(self) -> Condition:
        if self.at_keyword("NOT"):
            self.advance()
            return Not(self.operand())
        first = self.operand()
        if not self.at_keyword("AND", "OR"):
            return first
        joiner = self.current.text
        parts = [first]
        # Only the same operator may repeat; the other one is left for the caller, which rejects it.
        while self.at_keyword(joiner):
            self.advance()
            parts.append(self.operand())
        return And(tuple(parts)) if joiner == "AND" else Or(tuple(parts))

    def operand(self) -> Condition:
        if self.current.kind == "(":
            self.advance()
            inner = self.condition()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        field = self.field()
        if self.current.kind == "op":
            operator = self.advance().value
            return Comparison(field, str(operator), self.literal())
        if self.at_keyword("LIKE"):
            self.advance()
            if self.current.kind != "string":
                raise self.unexpected()
            return Comparison(field, "LIKE", self.literal())
        if self.at_keyword("NOT"):
            self.advance()
            if not self.at_keyword("IN"):
                raise self.unexpected()
            self.advance()
            return Comparison(field, "NOT IN", self.literal_list())
        if self.at_keyword("IN"):
            self.advance()
            return Comparison(field, "IN", self.literal_list())
        raise self.unexpected()

    def literal(self) -> object:
        token = self.current
        if token.kind in LITERAL_KINDS:
            return self.advance().value
        if token.kind == "keyword" and token.text in LITERAL_KEYWORDS:
            self.advance()
            return LITERAL_KEYWORDS[token.text]
        raise self.unexpected()

    def literal_list(self) -> tuple[object, ...]:
        self.expect("(")
        values = [self.literal()]
        while self.current.kind == ",":
            self.advance()
            values.append(self.literal())
        self.expect(")")
        return tuple(values)

    def order_list(self) -> tuple[OrderItem, ...]:
        items = [self.order_item()]
        while self.current.kind == ",":
            self.advance()
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        field = self.field()
        descending = False
        if self.at_keyword("ASC", "DESC"):
            descending = self.advance().text == "DESC"
        nulls_last = descending  # Salesforce's default: nulls first ascending, last descending
        if self.at_keyword("NULLS"):
            self.advance()
            if not self.at_keyword("FIRST", "LAST"):
                raise self.unexpected()
            nulls_last = self.advance().text == "LAST"
        return OrderItem(field, descending, nulls_last)

    def integer_clause(self, keyword: str) -> int | None:
        if not self.at_keyword(keyword):
            return None
        self.advance()
        token = self.current
        if token.kind != "number" or not isinstance(token.value, int) or token.value < 0:
            raise self.unexpected()
        self.advance()
        return token.value
