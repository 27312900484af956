"""Migrations: the migrated database is exactly store/schema.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from store.db import create_hub_engine, default_database_url
from store.migrate import alembic_config, current_revision, upgrade
from store.schema import metadata

# The newest migration: upgrade must always land there.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def _diffs(engine: sa.Engine, target: sa.MetaData) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, target)


def test_upgrade_creates_exactly_the_schema_tables(db_url):
    """Input: an empty database. Upgrade to head; autogenerate sees no difference from schema.py."""
    engine = create_hub_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == HEAD
        assert _diffs(engine, metadata) == []
        tables = set(sa.inspect(engine).get_table_names())
        assert tables == set(metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_comparison_would_catch_drift(db_url):
    """Input: the migrated database compared with schema.py plus one extra column. The diff names it,
    so the empty diff above is a real check and not a comparison that never finds anything."""
    engine = create_hub_engine(db_url)
    try:
        upgrade(engine)
        drifted = sa.MetaData()
        for table in metadata.tables.values():
            table.to_metadata(drifted)
        drifted.tables["outbox"].append_column(sa.Column("extra_column", sa.Integer))
        diffs = _diffs(engine, drifted)
        assert [(d[0], d[3].name) for d in diffs] == [("add_column", "extra_column")]
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op_and_keeps_rows(db_url):
    """Input: upgrade, store a cursor, upgrade again (by URL this time). Revision and row unchanged."""
    upgrade(db_url)
    engine = create_hub_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(metadata.tables["sync_cursors"]).values(
                    stream="s", cursor_ts=1, cursor_id="x", updated_at=sa.func.now()
                )
            )
        upgrade(engine)
        assert current_revision(engine) == HEAD
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(metadata.tables["sync_cursors"])).scalar() == 1
            assert conn.execute(sa.text("select count(*) from alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def test_alembic_version_lives_in_the_connection_schema(db_url):
    """Input: the per-test PostgreSQL schema set only through search_path (SQLite: its one schema).
    The version table is found in the connection's default schema, next to the hub tables."""
    engine = create_hub_engine(db_url)
    try:
        upgrade(engine)
        inspector = sa.inspect(engine)
        assert inspector.has_table("alembic_version", schema=inspector.default_schema_name)
        assert inspector.has_table("outbox", schema=inspector.default_schema_name)
        if engine.dialect.name == "postgresql":
            assert inspector.default_schema_name.startswith("t_")
            assert not sa.inspect(engine).has_table("alembic_version", schema="public")
    finally:
        engine.dispose()


def test_sqlite_engine_creates_directory_and_enables_foreign_keys_and_wal(tmp_path):
    """Input: an SQLite URL under a directory that does not exist yet."""
    path = tmp_path / "nested" / "dir" / "hub.db"
    engine = create_hub_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert path.parent.is_dir()
    finally:
        engine.dispose()


def test_default_database_url_prefers_environment(monkeypatch, tmp_path):
    """Input: CONCORD_DATABASE_URL unset, then set. Unset gives .concord/hub.db under the cwd."""
    monkeypatch.delenv("CONCORD_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_database_url() == f"sqlite:///{tmp_path / '.concord' / 'hub.db'}"
    monkeypatch.setenv("CONCORD_DATABASE_URL", "postgresql+psycopg2://hub@db/concord")
    assert default_database_url() == "postgresql+psycopg2://hub@db/concord"
