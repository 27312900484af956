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


Link = tuple[str, str, str, str, str | None]  # (entity, canonical_key, system, external_id, reason)
_IN_CHUNK = 500


def _current(conn: sa.Connection, entity: str, system: str, column: sa.Column, values: list[str]) -> dict[str, str]:
    """For links of (entity, system): `column` value -> the other side, for the given values (500 per query)."""
    other = xref.c.external_id if column is xref.c.canonical_key else xref.c.canonical_key
    found: dict[str, str] = {}
    for start in range(0, len(values), _IN_CHUNK):
        query = sa.select(column, other).where(xref.c.entity == entity, xref.c.system == system,
                                               column.in_(values[start:start + _IN_CHUNK]))
        found.update({mine: theirs for mine, theirs in conn.execute(query).tuples()})
    return found


def link_many(conn: sa.Connection, links_to_make: list[Link]) -> None:
    """`link` for many at once, with the same rules (an existing identical link is a no-op; re-pointing one, or
    claiming a vendor id linked to another key, raises XrefConflict), in two reads and one insert per
    (entity, system) instead of three statements per link."""
    groups: dict[tuple[str, str], list[Link]] = {}
    for entry in links_to_make:
        groups.setdefault((entry[0], entry[2]), []).append(entry)
    now = utcnow()
    for (entity, system), group in groups.items():
        by_key = _current(conn, entity, system, xref.c.canonical_key, [entry[1] for entry in group])
        by_id = _current(conn, entity, system, xref.c.external_id, [entry[3] for entry in group])
        fresh = []
        for _, canonical_key, _, external_id, reason in group:
            current = by_key.get(canonical_key)
            if current == external_id:
                continue
            if current is not None:
                raise XrefConflict(f"{entity} {canonical_key!r} is already linked to {system} id {current!r}")
            owner = by_id.get(external_id)
            if owner is not None:
                raise XrefConflict(f"{system} {entity} id {external_id!r} is already linked to {owner!r}")
            by_key[canonical_key], by_id[external_id] = external_id, canonical_key  # later entries see it
            fresh.append({"entity": entity, "canonical_key": canonical_key, "system": system,
                          "external_id": external_id, "linked_at": now, "reason": reason})
        if fresh:
            conn.execute(sa.insert(xref), fresh)
