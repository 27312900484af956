"""Tokens of the SOQL subset the sandbox understands.

String literals are decoded here, with SOQL's backslash escapes, into two forms at once: the plain
text (for =, IN, <...) and a regular expression (for LIKE), because `\\%` is a literal percent sign
in a LIKE pattern while a bare `%` is a wildcard, and only the lexer still knows which was which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sandboxes.salesforce.soql import relative_dates


class SoqlError(Exception):
    """A query Salesforce would refuse; `error_code` is the vendor's (MALFORMED_QUERY, INVALID_FIELD...)."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


KEYWORDS = frozenset(
    {
        "SELECT", "FROM", "WHERE", "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT",
        "OFFSET", "AND", "OR", "NOT", "IN", "LIKE", "NULL", "TRUE", "FALSE", "COUNT",
    }
)


@dataclass(frozen=True)
class StringLiteral:
    text: str
    like_regex: str  # the same literal read as a LIKE pattern


@dataclass(frozen=True)
class Token:
    kind: str  # keyword | ident | string | number | datetime | date | op | ( | ) | , | eof
    text: str  # as written in the query (keywords upper-cased)
    value: object
    pos: int


_SIMPLE_ESCAPES = {
    "n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b", "B": "\b",
    "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\",
}

_WHITESPACE = re.compile(r"\s+")
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:])")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?(?![\w.])")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")


def position(text: str, pos: int) -> tuple[int, int]:
    """Row and column (both from 1), as Salesforce reports them in MALFORMED_QUERY messages."""
    row = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return row, column


def malformed(text: str, pos: int, detail: str) -> SoqlError:
    row, column = position(text, pos)
    return SoqlError("MALFORMED_QUERY", f"\n{text}\nERROR at Row:{row}:Column:{column}\n{detail}")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        space = _WHITESPACE.match(text, pos)
        if space:
            pos = space.end()
            continue
        token = _next_token(text, pos)
        tokens.append(token)
        pos += len(token.text)  # keywords are upper-cased, never lengthened
    tokens.append(Token("eof", "", None, len(text)))
    return tokens


def _next_token(text: str, pos: int) -> Token:
    char = text[pos]
    if char == "'":
        return Token("string", text[pos:_string_end(text, pos)], _read_string(text, pos), pos)
    if char in "(),":
        return Token(char, char, char, pos)
    for operator in _OPERATORS:
        if text.startswith(operator, pos):
            return Token("op", operator, "!=" if operator == "<>" else operator, pos)
    if match := _DATETIME.match(text, pos):
        return Token("datetime", match.group(0), _parse_datetime(match, text, pos), pos)
    if match := _DATE.match(text, pos):
        return Token("date", match.group(0), _parse_date(match.group(0), text, pos), pos)
    if match := _NUMBER.match(text, pos):
        literal = match.group(0)
        value: int | Decimal = Decimal(literal) if match.group(1) else int(literal)
        return Token("number", literal, value, pos)
    if match := relative_dates.PATTERN.match(text, pos):
        return Token("date", match.group(0), relative_dates.parse(match), pos)
    if match := _IDENT.match(text, pos):
        word = match.group(0)
        if word.upper() in KEYWORDS:
            return Token("keyword", word.upper(), word.upper(), pos)
        return Token("ident", word, word, pos)
    raise malformed(text, pos, f"unexpected token: '{char}'")


def _string_end(text: str, start: int) -> int:
    """Index just past the closing quote of the literal opening at `start`."""
    pos = start + 1
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == "'":
            return pos + 1
        pos += 1
    raise malformed(text, start, "unterminated string literal: mismatched character '<EOF>' expecting \"'\"")


def _read_string(text: str, start: int) -> StringLiteral:
    plain: list[str] = []
    pattern: list[str] = []
    pos = start + 1
    while text[pos] != "'":
        char = text[pos]
        if char == "\\":
            escaped = text[pos + 1]
            if escaped in _SIMPLE_ESCAPES:
                plain.append(_SIMPLE_ESCAPES[escaped])
                pattern.append(re.escape(_SIMPLE_ESCAPES[escaped]))
            elif escaped in "%_":  # only meaningful in LIKE: a literal wildcard character
                plain.append(escaped)
                pattern.append(re.escape(escaped))
            else:
                raise malformed(text, pos, f"Invalid string literal '{text[start:_string_end(text, start)]}'. "
                                "Illegal escape sequence.")
            pos += 2
            continue
        plain.append(char)
        pattern.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        pos += 1
    return StringLiteral("".join(plain), "".join(pattern))


def _parse_datetime(match: re.Match[str], text: str, pos: int) -> datetime:
    zone = match.group(8)
    iso = match.group(0)[: match.start(8) - match.start(0)] + ("+00:00" if zone == "Z" else zone)
    try:
        return datetime.fromisoformat(iso)
    except ValueError as exc:
        raise malformed(text, pos, f"unexpected token: '{match.group(0)}'") from exc


def _parse_date(literal: str, text: str, pos: int) -> date:
    try:
        return date.fromisoformat(literal)
    except ValueError as exc:
        raise malformed(text, pos, f"unexpected token: '{literal}'") from exc
