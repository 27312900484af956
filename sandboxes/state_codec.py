"""The JSON form of sandbox state files, shared by every sandbox's snapshot/restore.

Money stays exact and times keep their zone: Decimal -> {"$decimal": "12.34"}, datetime ->
{"$datetime": iso}; tuples become lists. Anything else must already be JSON.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any


def encode(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$decimal" in value:
            return Decimal(value["$decimal"])
        if len(value) == 1 and "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value
