"""The internal-database reader, on SQLite and PostgreSQL, with rows that share a watermark."""

from __future__ import annotations

import sqlalchemy as sa

from connectors.internal_db import InternalDatabase, TableStream


def _seed(url: str) -> None:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    events = sa.Table("usage_events", meta, sa.Column("id", sa.Integer, primary_key=True),
                      sa.Column("updated_at", sa.Integer, nullable=False), sa.Column("quantity", sa.Integer))
    meta.create_all(engine)
    with engine.begin() as conn:
        # 7 rows, 5 of them sharing watermark 100: a page of 3 ends inside that group.
        conn.execute(sa.insert(events), [{"id": i, "updated_at": 100 if i <= 5 else 200, "quantity": i}
                                         for i in range(1, 8)])
    engine.dispose()


def test_paged_read_skips_nothing_when_rows_share_a_watermark(db_url):
    """Input: 7 usage events, 5 with the same updated_at, read in pages of 3, then resumed from a cursor."""
    _seed(db_url)
    db = InternalDatabase(db_url)
    stream = TableStream("usage_events", "updated_at")
    rows = list(db.iter_rows(stream, page_size=3))
    assert [row["id"] for row in rows] == [1, 2, 3, 4, 5, 6, 7]
    resumed = list(db.iter_rows(stream, after=(100, 4), page_size=3))
    assert [row["id"] for row in resumed] == [5, 6, 7]
    db.dispose()
