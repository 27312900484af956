"""Alembic migrations for the hub database (run through store.migrate)."""
