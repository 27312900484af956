"""Canonical ids: stable, derived from the id in the system that masters the entity."""

from __future__ import annotations

from collections.abc import Mapping

# Which system's id names the real-world thing (DESIGN.md, sync rules); the first present wins.
MASTER_ORDER: dict[str, tuple[str, ...]] = {
    "customer": ("salesforce", "stripe", "quickbooks", "internal"),
    "contact": ("salesforce", "stripe"),
    "usage_record": ("internal", "stripe"),
}
DEFAULT_ORDER = ("stripe", "salesforce", "quickbooks", "internal")


def canonical_id(entity: str, ids: Mapping[str, str]) -> str:
    """"<entity>:<system>:<id>" from the master's id, e.g. "price:stripe:price_123".

    Deterministic: the same ids always give the same canonical id, so a re-sync never invents a new thing.
    """
    for system in MASTER_ORDER.get(entity, DEFAULT_ORDER):
        if ids.get(system):
            return f"{entity}:{system}:{ids[system]}"
    raise ValueError(f"{entity} has no id in any system: {dict(ids)}")
