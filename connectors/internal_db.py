"""The company's internal SQL databases, read through SQLAlchemy from any URL.

Which tables are read, and on which watermark column, comes from configuration
(CONCORD_INTERNAL_TABLES, e.g. "customers:updated_at,usage_events:occurred_at:id"). Reads are
incremental on a (watermark, id) pair, so rows that share a watermark value are never skipped at a
page boundary, and streamed in keyset pages so a large table never sits in memory. SQL is built
from the reflected table with SQLAlchemy constructs: a configured name that is not a real table or
column is an error before any read, never a string pasted into a statement.

Hub cursors are (integer, text) pairs: a datetime watermark is kept as microseconds since the Unix
epoch (naive values are UTC, the usual convention of such databases), an integer one as itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

DEFAULT_PAGE_SIZE = 1000
DEFAULT_STREAMS = "customers:updated_at,usage_events:occurred_at"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InternalConfigError(ValueError):
    """The configured tables or columns do not exist, or the configuration cannot be parsed."""


@dataclass(frozen=True)
class TableStream:
    table: str
    watermark_column: str
    id_column: str = "id"

    @property
    def stream_name(self) -> str:
        return f"internal.{self.table}"


def parse_streams(spec: str | None) -> list[TableStream]:
    """"customers:updated_at,usage_events:occurred_at:event_id" -> TableStreams (id column defaults to id)."""
    streams = []
    for part in filter(None, (piece.strip() for piece in (spec or DEFAULT_STREAMS).split(","))):
        names = [name.strip() for name in part.split(":")]
        if len(names) not in (2, 3) or not all(_NAME.match(name) for name in names):
            raise InternalConfigError(f"bad internal table {part!r}: write table:watermark_column[:id_column]")
        streams.append(TableStream(*names))
    if len({stream.table for stream in streams}) != len(streams):
        raise InternalConfigError("an internal table is configured twice")
    return streams


def _micros(value: datetime) -> int:
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def encode_watermark(value: Any) -> int:
    """A watermark as the integer half of a hub cursor."""
    if isinstance(value, datetime):
        return _micros(value)
    if isinstance(value, date):
        return _micros(datetime(value.year, value.month, value.day))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InternalConfigError(f"watermark values must be timestamps, dates or integers, got {type(value).__name__}")


def decode_watermark(column: sa.Column, encoded: int) -> Any:
    """The hub cursor's integer back in the column's own type, for the comparison in SQL."""
    if isinstance(column.type, sa.DateTime):
        moment = _EPOCH + timedelta(microseconds=encoded)
        return moment if column.type.timezone else moment.replace(tzinfo=None)
    if isinstance(column.type, sa.Date):
        return (_EPOCH + timedelta(microseconds=encoded)).date()
    return encoded


class InternalDatabase:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self._tables: dict[str, sa.Table] = {}

    def _table(self, name: str) -> sa.Table:
        if name not in self._tables:
            schema, _, table = name.rpartition(".")
            try:
                self._tables[name] = sa.Table(table, sa.MetaData(), schema=schema or None, autoload_with=self.engine)
            except sa.exc.NoSuchTableError as error:
                raise InternalConfigError(f"internal table {name!r} does not exist") from error
        return self._tables[name]

    def _columns(self, stream: TableStream) -> tuple[sa.Table, sa.Column, sa.Column]:
        table = self._table(stream.table)
        for column in (stream.watermark_column, stream.id_column):
            if column not in table.c:
                raise InternalConfigError(f"internal table {stream.table!r} has no column {column!r}")
        return table, table.c[stream.watermark_column], table.c[stream.id_column]

    def check(self, stream: TableStream) -> None:
        """Raise InternalConfigError unless the stream's table and columns exist."""
        self._columns(stream)

    def iter_rows(
        self, stream: TableStream, after: tuple[Any, Any] | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[dict]:
        """Rows ordered by (watermark, id), strictly after the `after` cursor (in column values) when given."""
        table, mark, key = self._columns(stream)
        cursor = after
        while True:
            query = sa.select(table).order_by(mark, key).limit(page_size)
            if cursor is not None:
                query = query.where(sa.or_(mark > cursor[0], sa.and_(mark == cursor[0], key > cursor[1])))
            with self.engine.connect() as conn:
                rows = [dict(row._mapping) for row in conn.execute(query)]
            yield from rows
            if len(rows) < page_size:
                return
            cursor = (rows[-1][stream.watermark_column], rows[-1][stream.id_column])

    def iter_after_cursor(self, stream: TableStream, cursor: tuple[int, str] | None,
                          page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[tuple[tuple[int, str], dict]]:
        """(hub cursor, row) pairs after a hub cursor (None: from the start), in (watermark, id) order."""
        _, mark, key = self._columns(stream)
        after = None
        if cursor is not None:
            after = (decode_watermark(mark, cursor[0]), _id_value(key, cursor[1]))
        for row in self.iter_rows(stream, after, page_size):
            yield (encode_watermark(row[stream.watermark_column]), str(row[stream.id_column])), row

    def dispose(self) -> None:
        self.engine.dispose()


def _id_value(column: sa.Column, text: str) -> Any:
    return int(text) if isinstance(column.type, sa.Integer) else text
