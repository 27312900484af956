"""Cross-reference: which id each system uses for one canonical thing."""

from __future__ import annotations

import sqlalchemy as sa

from store.schema import xref
from store.timeutil import utcnow


class XrefConflict(ValueError):
    """A link that would re-point an existing link: two records claiming one identity."""


def link(
    conn: sa.Connection, entity: str, canonical_key: str, system: str, external_id: str, reason: str | None = None
) -> None:
    """Record that `canonical_key` is `external_id` in `system`; linking the same pair again is a no-op.

    A different id for an already-linked key (or a vendor id already linked to another key) raises
    XrefConflict rather than silently moving the link: that is an identity bug to look at, not data.
    """
    current = lookup(conn, entity, canonical_key, system)
    if current == external_id:
        return
    if current is not None:
        raise XrefConflict(f"{entity} {canonical_key!r} is already linked to {system} id {current!r}")
    owner = reverse_lookup(conn, entity, system, external_id)
    if owner is not None:
        raise XrefConflict(f"{system} {entity} id {external_id!r} is already linked to {owner!r}")
    conn.execute(
        sa.insert(xref).values(
            entity=entity, canonical_key=canonical_key, system=system, external_id=external_id, linked_at=utcnow(),
            reason=reason,
        )
    )


def unlink(conn: sa.Connection, entity: str, canonical_key: str, system: str) -> int:
    """Forget the link (e.g. the vendor record was deleted), so a new one can be made; returns rows removed."""
    return conn.execute(
        sa.delete(xref).where(xref.c.entity == entity, xref.c.canonical_key == canonical_key, xref.c.system == system)
    ).rowcount


def lookup(conn: sa.Connection, entity: str, canonical_key: str, system: str) -> str | None:
    return conn.execute(
        sa.select(xref.c.external_id).where(
            xref.c.entity == entity, xref.c.canonical_key == canonical_key, xref.c.system == system
        )
    ).scalar_one_or_none()


def reverse_lookup(conn: sa.Connection, entity: str, system: str, external_id: str) -> str | None:
    return conn.execute(
        sa.select(xref.c.canonical_key).where(
            xref.c.entity == entity, xref.c.system == system, xref.c.external_id == external_id
        )
    ).scalar_one_or_none()


def links(conn: sa.Connection, entity: str, system: str) -> dict[str, str]:
    """canonical_key -> external id for every link of `entity` into `system`."""
    rows = conn.execute(
        sa.select(xref.c.canonical_key, xref.c.external_id)
        .where(xref.c.entity == entity, xref.c.system == system)
        .order_by(xref.c.canonical_key)
    )
    # Not dict(rows): a Result has .keys(), so dict() would treat it as a mapping of column names.
    return {canonical_key: external_id for canonical_key, external_id in rows}


def link_reason(conn: sa.Connection, entity: str, canonical_key: str, system: str) -> str | None:
    return conn.execute(
        sa.select(xref.c.reason).where(
            xref.c.entity == entity, xref.c.canonical_key == canonical_key, xref.c.system == system
        )
    ).scalar_one_or_none()
