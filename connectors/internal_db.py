"""The company's internal SQL databases, read through SQLAlchemy from any URL.

Reads are incremental on a (watermark, id) pair, so rows that share a watermark value are never
skipped at a page boundary, and streamed in pages so a large table never sits in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

DEFAULT_PAGE_SIZE = 1000


@dataclass(frozen=True)
class TableStream:
    table: str
    watermark_column: str
    id_column: str = "id"


class InternalDatabase:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def _table(self, name: str) -> sa.Table:
        return sa.Table(name, sa.MetaData(), autoload_with=self.engine)

    def iter_rows(
        self, stream: TableStream, after: tuple[Any, Any] | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[dict]:
        """Rows ordered by (watermark, id), strictly after the `after` cursor when given."""
        table = self._table(stream.table)
        mark, key = table.c[stream.watermark_column], table.c[stream.id_column]
        cursor = after
        while True:
            query = sa.select(table).order_by(mark, key).limit(page_size)
            if cursor is not None:
                query = query.where(sa.tuple_(mark, key) > sa.tuple_(sa.literal(cursor[0]), sa.literal(cursor[1])))
            with self.engine.connect() as conn:
                rows = [dict(row._mapping) for row in conn.execute(query)]
            yield from rows
            if len(rows) < page_size:
                return
            cursor = (rows[-1][stream.watermark_column], rows[-1][stream.id_column])

    def dispose(self) -> None:
        self.engine.dispose()
