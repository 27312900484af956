"""Typed reads of decoded form parameters, failing with Stripe's validation errors."""

from __future__ import annotations

import re
from typing import Any

from sandboxes.stripe.errors import invalid_param, missing_param, unknown_param

_INTEGER = re.compile(r"^-?[0-9]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


def reject_unknown(params: dict[str, Any], allowed: set[str]) -> None:
    for name in params:
        if name not in allowed and name != "expand":
            raise unknown_param(name)


def optional_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_param(name, f"Invalid string: {name} must be a string")
    return value


def required_str(params: dict[str, Any], name: str) -> str:
    value = optional_str(params, name)
    if not value:
        raise missing_param(name)
    return value


def optional_int(params: dict[str, Any], name: str, minimum: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _INTEGER.match(value):
        raise invalid_param(name, f"Invalid integer: {value}", code="parameter_invalid_integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise invalid_param(name, f"This value must be greater than or equal to {minimum}.",
                            code="parameter_invalid_integer")
    return number


def optional_bool(params: dict[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise invalid_param(name, f"Invalid boolean: {value}")
    return value == "true"


def email(params: dict[str, Any]) -> str | None:
    value = optional_str(params, "email")
    if value and not _EMAIL.match(value):
        raise invalid_param("email", f"Invalid email address: {value}", code="email_invalid")
    return value or None


def currency(params: dict[str, Any], name: str = "currency") -> str | None:
    value = optional_str(params, name)
    if value is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise invalid_param(name, f"Invalid currency: {value}. Stripe currently supports these currencies: ...")
    return value.lower()


def merge_metadata(current: dict[str, str], params: dict[str, Any]) -> dict[str, str]:
    """Stripe merges metadata keys; an empty value deletes a key; metadata='' clears it all."""
    update = params.get("metadata")
    if update is None:
        return dict(current)
    if update == "":
        return {}
    if not isinstance(update, dict):
        raise invalid_param("metadata", "Invalid object")
    merged = dict(current)
    for key, value in update.items():
        if not isinstance(value, str):
            raise invalid_param(f"metadata[{key}]", "Invalid string: metadata values must be strings")
        if len(key) > METADATA_KEY_MAX:
            raise invalid_param(f"metadata[{key}]", f"Metadata keys can have up to {METADATA_KEY_MAX} characters.")
        if len(value) > METADATA_VALUE_MAX:
            raise invalid_param(
                f"metadata[{key}]", f"Metadata values can have up to {METADATA_VALUE_MAX} characters."
            )
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise invalid_param("metadata", f"You can have up to {METADATA_MAX_KEYS} metadata keys.")
    return merged
