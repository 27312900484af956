"""Building QuickBooks Online query statements without string-pasting values.

QuickBooks' query language takes single-quoted literals where a backslash escapes the next
character. A value is therefore escaped backslash first (so the backslashes we add for apostrophes
are not doubled again), then apostrophe. Every value reaches a statement through `quote`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_OPERATORS = frozenset({"=", "<", ">", "<=", ">=", "LIKE"})
_ENTITIES = frozenset({"Account", "Item", "Customer", "Invoice", "Payment", "CreditMemo", "RefundReceipt",
                       "Deposit", "JournalEntry", "Vendor", "CompanyCurrency"})


def quote(value: str) -> str:
    """A QuickBooks query string literal: `O'Brien \\ "x"` -> `'O\\'Brien \\\\ "x"'`."""
    if not isinstance(value, str):
        raise TypeError(f"quote() takes a str, got {type(value).__name__}")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _property(name: str) -> str:
    # Property names are ours (code, never data), but a typo must not turn into query syntax.
    if not name.replace(".", "").isalnum():
        raise ValueError(f"not a QuickBooks property name: {name!r}")
    return name


@dataclass(frozen=True)
class Filter:
    name: str
    operator: str
    value: str

    def render(self) -> str:
        if self.operator not in _OPERATORS:
            raise ValueError(f"unsupported QuickBooks query operator {self.operator!r}")
        return " ".join([_property(self.name), self.operator, quote(self.value)])


@dataclass(frozen=True)
class In:
    """`name IN ('a', 'b')`: one query finds a whole batch's worth of records."""

    name: str
    values: tuple[str, ...]

    def render(self) -> str:
        if not self.values:
            raise ValueError("IN needs at least one value")
        return f"{_property(self.name)} IN ({', '.join(quote(value) for value in self.values)})"


def select(
    entity: str,
    where: Sequence[Filter | In] = (),
    order_by: str | Sequence[str] | None = None,
    descending: bool = False,
    start_position: int | None = None,
    max_results: int | None = None,
    count: bool = False,
) -> str:
    """`SELECT * | COUNT(*) FROM entity [WHERE ...] [ORDERBY f [, f ...]] [STARTPOSITION n] [MAXRESULTS n]`."""
    if entity not in _ENTITIES:
        raise ValueError(f"not a QuickBooks entity: {entity!r}")
    parts = ["SELECT", "COUNT(*)" if count else "*", "FROM", entity]
    if where:
        parts += ["WHERE", " AND ".join(condition.render() for condition in where)]
    if order_by:
        names = [order_by] if isinstance(order_by, str) else list(order_by)
        direction = "DESC" if descending else "ASC"
        parts += ["ORDERBY", ", ".join(f"{_property(name)} {direction}" for name in names)]
    if start_position is not None:
        parts += ["STARTPOSITION", str(int(start_position))]
    if max_results is not None:
        parts += ["MAXRESULTS", str(int(max_results))]
    return " ".join(parts)
