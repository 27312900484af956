"""Bring a hub database to the latest schema, from code: no alembic.ini needed at runtime."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from store.db import create_hub_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic Config pointing at store/migrations; `connection` is used as-is when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url_or_engine: str | sa.Engine, revision: str = "head") -> None:
    """Apply every pending migration; a database already at head is left untouched."""
    owns_engine = not isinstance(url_or_engine, sa.Engine)
    engine = create_hub_engine(url_or_engine) if owns_engine else url_or_engine
    try:
        # One connection for the whole run, so its options (PostgreSQL search_path) decide where
        # the tables and alembic_version are created.
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        if owns_engine:
            engine.dispose()


def current_revision(url_or_engine: str | sa.Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    owns_engine = not isinstance(url_or_engine, sa.Engine)
    engine = create_hub_engine(url_or_engine) if owns_engine else url_or_engine
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if owns_engine:
            engine.dispose()
