"""The hub database: raw landing, canonical tables, cross-reference, cursors, outbox, dead letters, mismatches.

Start with `store.hub.Hub`; `store.migrate.upgrade` applies the Alembic migrations.
"""

from store.hub import Hub
from store.records import DeadLetter, LandCounts, MismatchDelta, MismatchRow, OutboxRow, UpsertCounts
from store.xref import XrefConflict

__all__ = [
    "DeadLetter",
    "Hub",
    "LandCounts",
    "MismatchDelta",
    "MismatchRow",
    "OutboxRow",
    "UpsertCounts",
    "XrefConflict",
]
