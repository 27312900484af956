"""Stripe's form encoding, decoded: `metadata[k]=v`, `lines[0][amount]=5`, `expand[]=x`.

Stripe (and stripe-python) send nested parameters as bracketed keys in an
application/x-www-form-urlencoded body (and in GET query strings). We rebuild the nested
dicts and lists so handlers see the same structure the SDK was given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


def _split_key(key: str) -> list[str]:
    head, bracket, _ = key.partition("[")
    if not bracket:
        return [key]
    return [head, *_KEY_PART.findall(key[len(head) :])]


def _insert(target: dict[str, Any], parts: list[str], value: str) -> None:
    node: dict[str, Any] = target
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "":  # `expand[]=a&expand[]=b`: append, numbered in arrival order
            part = str(len(node))
        if last:
            node[part] = value
        else:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # `a=1&a[b]=2`: the nested form wins, as in Stripe
                child = node[part] = {}
            node = child


def _lists_from_numbered_dicts(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _lists_from_numbered_dicts(item) for key, item in value.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in pairs:
        _insert(nested, _split_key(key), value)
    return {key: _lists_from_numbered_dicts(item) for key, item in nested.items()}


def decode_form(body: bytes) -> dict[str, Any]:
    return decode_pairs(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def decode_query(query: dict[str, list[str]]) -> dict[str, Any]:
    return decode_pairs((key, value) for key, values in query.items() for value in values)
