"""Alembic environment for the hub database.

Run programmatically by store.migrate.upgrade, which hands over a live connection in
`config.attributes["connection"]` so connection options (PostgreSQL's search_path) apply and the
alembic_version table lands next to the hub tables. Without one (the alembic CLI), the URL comes
from the config or from CONCORD_DATABASE_URL.
"""

from __future__ import annotations

from alembic import context

from store.db import create_hub_engine, default_database_url
from store.schema import metadata

config = context.config


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or default_database_url(),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_hub_engine(config.get_main_option("sqlalchemy.url") or default_database_url())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
