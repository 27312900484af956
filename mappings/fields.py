"""Declarative field tables: one row per mapped field, canonical attribute <-> vendor path, with a codec.

A mapping module declares `EntityMapping(system, entity, version, fields)` and gets both directions
from it: `decode(vendor_dict) -> canonical kwargs` and `encode(record) -> vendor dict`. The same
tables generate the README's field table (mappings.field_table), so the documentation cannot drift
from the code. Anything a table cannot say (nested lists, cross-field checks) is a named codec or a
few lines in the entity's function, next to the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mappings.canonical import MappingError

Context = Mapping[str, Any]  # e.g. {"currency": "USD"}: what a codec needs beyond the value itself


@dataclass(frozen=True)
class Codec:
    """How one value crosses: `decode` vendor -> canonical, `encode` canonical -> vendor."""

    name: str  # shown in the field table, e.g. "minor units (Stripe)"
    decode: Callable[[Any, Context], Any]
    encode: Callable[[Any, Context], Any]


def _same(value: Any, _ctx: Context) -> Any:
    return value


AS_IS = Codec("as is", _same, _same)


@dataclass(frozen=True)
class Field:
    canonical: str  # attribute name; "ids.stripe" means the "stripe" key of the record's `ids` dict
    vendor: str  # dotted path in the vendor object, e.g. "recurring.interval"
    codec: Codec = AS_IS
    required: bool = False  # a missing/null vendor value is a MappingError, not None
    writable: bool = True  # sent on create/update (False: assigned by the vendor, e.g. id, created)
    direction: str = "both"  # both | in (vendor -> canonical only) | out (canonical -> vendor only)


@dataclass(frozen=True)
class EntityMapping:
    system: str  # stripe | quickbooks | salesforce | internal
    entity: str  # canonical entity name
    vendor_object: str  # the vendor's name for it (Stripe object, QuickBooks element, sObject, table)
    version: int  # bump when a field's meaning changes, so stored mappings can be re-run
    fields: tuple[Field, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)  # what the table cannot say (in the README)

    def decode(self, obj: Mapping[str, Any], ctx: Context, where: str) -> dict[str, Any]:
        """Canonical keyword arguments from a vendor dict; MappingError names the field at fault."""
        if not isinstance(obj, Mapping):
            raise MappingError(f"{where}: expected a {self.vendor_object} object, got {type(obj).__name__}")
        values: dict[str, Any] = {}
        for row in self.fields:
            if row.direction == "out":
                continue
            raw = get_path(obj, row.vendor)
            if raw is None:
                if row.required:
                    raise MappingError(f"{where}: {row.vendor} is missing", field=row.vendor, reason="missing")
                value = None
            else:
                try:
                    value = row.codec.decode(raw, ctx)
                except MappingError:
                    raise
                except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
                    raise MappingError(f"{where}: {row.vendor}: {exc}", field=row.vendor, reason=str(exc)) from exc
            _set_canonical(values, row.canonical, value)
        return values

    def encode(self, record: Any, ctx: Context, writable_only: bool = False) -> dict[str, Any]:
        """A vendor dict from a canonical record; None values are left out (the vendor keeps its own)."""
        body: dict[str, Any] = {}
        for row in self.fields:
            if row.direction == "in" or (writable_only and not row.writable):
                continue
            value = _get_canonical(record, row.canonical)
            if value is None:
                continue
            set_path(body, row.vendor, row.codec.encode(value, ctx))
        return body


def get_path(obj: Mapping[str, Any], path: str) -> Any:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def set_path(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    current = body
    for part in parents:
        current = current.setdefault(part, {})
    current[last] = value


def _set_canonical(values: dict[str, Any], name: str, value: Any) -> None:
    if "." in name:
        container, key = name.split(".", 1)
        if value is not None:
            values.setdefault(container, {})[key] = value
        else:
            values.setdefault(container, {})
    else:
        values[name] = value


def _get_canonical(record: Any, name: str) -> Any:
    if "." in name:
        container, key = name.split(".", 1)
        return (getattr(record, container) or {}).get(key)
    return getattr(record, name)
