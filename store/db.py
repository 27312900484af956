"""Engines for the hub database: an embedded SQLite file by default, PostgreSQL in production."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

DATABASE_URL_ENV = "CONCORD_DATABASE_URL"


def default_database_url() -> str:
    """CONCORD_DATABASE_URL, or an SQLite file under `.concord/` in the working directory."""
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    if configured:
        return configured
    return f"sqlite:///{Path.cwd() / '.concord' / 'hub.db'}"


def create_hub_engine(url: str | URL) -> sa.Engine:
    """An engine tuned for the hub: SQLite gets foreign keys and WAL, PostgreSQL gets pre-ping."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_directory(parsed)
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    # Pre-ping because a long-lived Dagster process outlives server restarts and idle timeouts.
    return sa.create_engine(parsed, pool_pre_ping=True)


def _ensure_sqlite_directory(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite_connection(dbapi_connection, _connection_record) -> None:
    # SQLite ignores foreign keys unless asked on every connection; WAL lets Dagster's readers
    # (the UI, sensors) read while a run writes.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()
