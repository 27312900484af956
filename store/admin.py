"""Operator helpers: deliberate repairs an engineer runs by hand (or a test runs to stage a scenario)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from store.hub import Hub
from store.schema import outbox
from store.xref import unlink


@dataclass(frozen=True)
class Forgotten:
    links: int
    outbox_rows: int


def forget_sync(hub: Hub, entity: str, canonical_key: str, system: str) -> Forgotten:
    """Drop one record's link into `system` and its outbox rows there, so the next sync writes it again.

    For when the copy was deleted on the vendor side on purpose. The next plan re-enqueues with the
    same derived idempotency key, so a vendor that still remembers that key will not write twice.
    """
    with hub.transaction() as conn:
        links = unlink(conn, entity, canonical_key, system)
        rows = conn.execute(
            sa.delete(outbox).where(
                outbox.c.entity == entity, outbox.c.canonical_key == canonical_key, outbox.c.system == system
            )
        ).rowcount
    return Forgotten(links=links, outbox_rows=rows)
