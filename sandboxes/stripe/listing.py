"""Shared list-endpoint behaviour: `created[gt|gte|lt|lte]`, equality filters, newest first, cursors."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sandboxes.stripe.errors import invalid_param
from sandboxes.stripe.params import optional_int, optional_str, reject_unknown
from sandboxes.stripe.state import newest_first, paginate

LIST_PARAMS = {"limit", "starting_after", "ending_before"}
_COMPARISONS = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}


def range_filter(params: dict[str, Any], name: str = "created") -> Callable[[int | None], bool]:
    """`created=123` or `created[gte]=100&created[lt]=200`, as Stripe's list endpoints take them."""
    bound = params.get(name)
    if bound is None:
        return lambda _: True
    if isinstance(bound, str):
        exact = optional_int(params, name)
        return lambda value: value == exact
    limits = {}
    for op in bound:
        if op not in _COMPARISONS:
            raise invalid_param(f"{name}[{op}]", f"Received unknown parameter: {name}[{op}]", "parameter_unknown")
        limits[op] = optional_int(bound, op)
    return lambda value: value is not None and all(_COMPARISONS[op](value, lim) for op, lim in limits.items())


def list_endpoint(
    items: Iterable[dict[str, Any]],
    params: dict[str, Any],
    url: str,
    object_name: str,
    *,
    equals: Iterable[str] = (),
    ranges: Iterable[str] = ("created",),
    extra: Iterable[str] = (),
    choices: dict[str, set[str]] | None = None,
) -> dict[str, Any]:
    """Filter (`equals` params must match the same-named field exactly; `ranges` take created-style
    bounds), order newest first and page. `extra` names params the caller handled itself."""
    equals, ranges = list(equals), list(ranges)
    reject_unknown(params, LIST_PARAMS | set(equals) | set(ranges) | set(extra))
    wanted = {}
    for name in equals:
        value = optional_str(params, name)
        if value is not None:
            allowed = (choices or {}).get(name)
            if allowed is not None and value not in allowed:
                raise invalid_param(name, f"Invalid {name}: must be one of {', '.join(sorted(allowed))}")
            wanted[name] = value
    checks = [(name, range_filter(params, name)) for name in ranges if name in params]
    chosen = [
        item for item in items
        if all(_field_text(item.get(name)) == value for name, value in wanted.items())
        and all(check(item.get(name)) for name, check in checks)
    ]
    return paginate(newest_first(chosen), params, url, object_name)


def _field_text(value: Any) -> Any:
    # Booleans arrive as "true"/"false" form strings; ids are compared as given.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    return value
