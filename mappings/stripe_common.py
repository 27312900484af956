"""What every Stripe mapping shares: object checks, the version, the metadata key carrying Salesforce ids."""

from __future__ import annotations

from typing import Any

from mappings.canonical import MappingError
from mappings.money import UnknownCurrency, normalize_currency

# Bump when a Stripe field's meaning changes (stored canonical records can then be re-mapped).
MAPPING_VERSION = 2
STRIPE_API_VERSION = "2026-10-28"  # what stripe-python 16.x pins; fixtures3.json agrees with it
SALESFORCE_ID_KEY = "salesforce_account_id"


def object_id(obj: Any, expected_object: str) -> str:
    """The id of a live Stripe object of the expected type; MappingError otherwise."""
    if not isinstance(obj, dict):
        raise MappingError(f"expected a Stripe {expected_object} object, got {type(obj).__name__}", field="object")
    found = obj.get("id")
    if not isinstance(found, str) or not found:
        raise MappingError(f"Stripe {expected_object} without an id", field="id", reason="missing")
    if obj.get("object") not in (None, expected_object):
        raise MappingError(f"{found}: expected object {expected_object!r}, got {obj.get('object')!r}", field="object")
    if obj.get("deleted"):
        raise MappingError(f"{found}: {expected_object} is deleted", field="deleted", reason="deleted")
    return found


def currency_of(obj: dict, where: str, path: str = "currency") -> str:
    try:
        return normalize_currency(obj.get(path))
    except UnknownCurrency as exc:
        raise MappingError(f"{where}: {exc}", field=path, reason=str(exc)) from exc


def list_data(value: Any, where: str, path: str) -> list:
    """The items of an embedded Stripe list; refuses a partial one (has_more) instead of losing rows."""
    if value is None:
        return []
    if isinstance(value, dict):
        if value.get("has_more"):
            raise MappingError(f"{where}: only some {path} are present (has_more); fetch them all first",
                               field=path, reason="has_more")
        return list(value.get("data") or [])
    if isinstance(value, list):
        return value
    raise MappingError(f"{where}: {path} is not a list", field=path)


def stripe_list(items: list, url: str) -> dict:
    return {"object": "list", "data": items, "has_more": False, "url": url}
