"""The internal-database reader, on SQLite and PostgreSQL, with rows that share a watermark."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from connectors.internal_db import (
    InternalConfigError,
    InternalDatabase,
    TableStream,
    encode_watermark,
    parse_streams,
)
from sandboxes.internal_sample import build_internal_sample
from sandboxes.seed import build_seed


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


def test_streams_come_from_configuration_and_bad_specs_are_refused():
    """Inputs: the default, a three-part spec, and malformed ones (no watermark, a quote, a table twice)."""
    assert parse_streams(None) == [TableStream("customers", "updated_at"), TableStream("usage_events", "occurred_at")]
    assert parse_streams(" events:seen_at:event_id ") == [TableStream("events", "seen_at", "event_id")]
    for bad in ("customers", "customers:updated_at;drop", "a:b:c:d", "t:w,t:w"):
        with pytest.raises(InternalConfigError):
            parse_streams(bad)


def test_a_configured_table_or_column_that_does_not_exist_is_a_clear_error(db_url):
    """Input: a table that is not there and a watermark column the real table lacks."""
    build_internal_sample(db_url, build_seed(3))
    db = InternalDatabase(db_url)
    with pytest.raises(InternalConfigError, match="does not exist"):
        db.check(TableStream("invoices_v2", "updated_at"))
    with pytest.raises(InternalConfigError, match="no column 'modified'"):
        list(db.iter_rows(TableStream("customers", "modified")))
    db.dispose()


def test_datetime_watermarks_resume_from_hub_cursors_without_skipping_shared_timestamps(db_url):
    """Input: the sample's 12 customers, all with one updated_at (a bulk import), read in pages of 5 through
    hub cursors; then one customer is updated and only it comes back."""
    build_internal_sample(db_url, build_seed(3))
    db = InternalDatabase(db_url)
    stream = TableStream("customers", "updated_at")
    first = list(db.iter_after_cursor(stream, None, page_size=5))
    assert [row["id"] for _, row in first] == list(range(1, 13))
    cursor = first[4][0]  # as the hub would store it: (microseconds, "5")
    assert cursor[1] == "5" and isinstance(cursor[0], int)
    assert [row["id"] for _, row in db.iter_after_cursor(stream, cursor, page_size=5)] == list(range(6, 13))
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE customers SET email = 'new@example.com', updated_at = :at WHERE id = 3"),
                     {"at": datetime(2026, 2, 1, 12, 0, 0, 250000)})
    engine.dispose()
    changed = list(db.iter_after_cursor(stream, first[-1][0]))
    assert [(row["id"], row["email"]) for _, row in changed] == [(3, "new@example.com")]
    assert changed[0][0][0] == encode_watermark(datetime(2026, 2, 1, 12, 0, 0, 250000, tzinfo=UTC))
    db.dispose()


def test_a_watermark_that_is_not_a_time_or_integer_is_refused():
    """Input: a float watermark (a REAL column) -> refused, since float order is not a safe cursor."""
    with pytest.raises(InternalConfigError):
        encode_watermark(1.5)
    assert encode_watermark(date(1970, 1, 2)) == 86_400_000_000
