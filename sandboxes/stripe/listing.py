"""Shared list-endpoint behaviour: `created[gt|gte|lt|lte]`, equality filters, newest first, cursors."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import TYPE_CHECKING, Any

from sandboxes.stripe import history as seeded_history
from sandboxes.stripe import objects
from sandboxes.stripe.errors import invalid_param, missing
from sandboxes.stripe.params import optional_int, optional_str, reject_unknown
from sandboxes.stripe.state import StripeState, newest_first, page_limit, paginate

if TYPE_CHECKING:
    from sandboxes.stripe.history import Source

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
    items: Iterable[dict[str, Any]] | dict[str, dict[str, Any]],
    params: dict[str, Any],
    url: str,
    object_name: str,
    *,
    equals: Iterable[str] = (),
    ranges: Iterable[str] = ("created",),
    extra: Iterable[str] = (),
    choices: dict[str, set[str]] | None = None,
    state: StripeState | None = None,
    kind: str | None = None,
    keep: Callable[[dict[str, Any]], bool] | None = None,
    sources: list[Source] | None = None,
    skip_live: bool = True,
) -> dict[str, Any]:
    """Filter (`equals` params must match the same-named field exactly; `ranges` take created-style
    bounds), order newest first and page; `items` may be a whole store (a dict: its values). `extra` names
    params the caller handled itself. With `state` and `kind`, the seeded history's objects of that kind are
    listed too (filtered by the same rules and by `keep`, which the caller's own filters need)."""
    store = items if isinstance(items, dict) else None
    if store is not None:
        items = store.values()
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

    def matches(item: dict[str, Any]) -> bool:
        return all(_field_text(item.get(name)) == value for name, value in wanted.items()) \
            and all(check(item.get(name)) for name, check in checks) and (keep is None or keep(item))

    if state is None or kind is None or state.history is None:
        if isinstance(store, seeded_history.SeededStore):  # a whole store kept in order: read only what the page needs
            return store_page(store, None, [], params, url, object_name, matches)
        return paginate(newest_first([item for item in items if matches(item)]), params, url, object_name)
    # The whole store and no selective filter: read it in order only as far as the page needs.
    rows = state.history.rows_for(wanted)
    whole = store is not None and store is state.history.store(kind) and rows is None
    candidates = customer_candidates(state, store, wanted) if store is not None else None
    if whole:
        live = None
    elif candidates is not None:
        live = [item for item in candidates if matches(item)]
    else:
        live = [item for item in items if matches(item)]
    return history_page(state, kind, live, params, url, object_name, matches, sources=sources, rows=rows,
                        skip_live=skip_live)


def customer_candidates(state: StripeState, store: Any, wanted: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The live objects of one customer (`customer=`, or `subscription=` through its customer) from the store's
    index, or None when the filter names neither (or an unknown subscription)."""
    if not isinstance(store, seeded_history.SeededStore):
        return None
    customer = wanted.get("customer")
    if customer is None and wanted.get("subscription") is not None:
        subscription = state.subscriptions.get(wanted["subscription"])
        customer = None if subscription is None else subscription["customer"]
    if customer is None:
        return None
    return [dict.__getitem__(store, key) for key in store.keys_with(customer)]


def created_bounds(params: dict[str, Any]) -> tuple[int | None, int | None]:
    """The inclusive (floor, ceiling) of `created` a list asks for, to skip seeded rows before building them."""
    bound = params.get("created")
    if isinstance(bound, str):
        exact = optional_int(params, "created")
        return exact, exact
    if not isinstance(bound, dict):
        return None, None
    floor = ceiling = None
    if "gte" in bound:
        floor = optional_int(bound, "gte")
    if "gt" in bound:
        floor = max(floor or -(2**62), (optional_int(bound, "gt") or 0) + 1)
    if "lte" in bound:
        ceiling = optional_int(bound, "lte")
    if "lt" in bound:
        ceiling = min(ceiling if ceiling is not None else 2**62, (optional_int(bound, "lt") or 0) - 1)
    return floor, ceiling


def history_page(state: StripeState, kind: str, live: list[dict[str, Any]] | None, params: dict[str, Any],
                 url: str, object_name: str, keep: Callable[[dict[str, Any]], bool], *, rows: Any = None,
                 sources: list[Source] | None = None, skip_live: bool = True) -> dict[str, Any]:
    """One list page over live objects (`live`, already filtered; None: every live object of the store that
    `keep` accepts) and the seeded history's objects of `kind` (filtered by `keep`), newest first, with
    Stripe's cursors: only the objects the page needs are read or built."""
    history = state.history
    assert history is not None
    store = history.store(kind)
    assert isinstance(store, seeded_history.SeededStore)
    chosen_sources = sources if sources is not None else history.sources(kind, rows)
    return store_page(store, live, chosen_sources, params, url, object_name, keep, skip_live=skip_live)


def store_page(store: seeded_history.SeededStore, live: list[dict[str, Any]] | None, sources: list[Source],
               params: dict[str, Any], url: str, object_name: str, keep: Callable[[dict[str, Any]], bool], *,
               skip_live: bool = True) -> dict[str, Any]:
    """A page of `live` (or, when None, of every live object in `store` that `keep` accepts, read in the store's
    order) merged with `sources`; a cursor must name an object the filters accept, as with paginate()."""
    limit = page_limit(params)
    floor, ceiling = created_bounds(params)
    live_source = seeded_history.LiveSource(store, keep) if live is None else seeded_history.ListSource(live)

    def cursor(param: str) -> tuple[int, str]:
        object_id = params[param]
        item = store.peek(object_id)
        if item is None or not keep(item):
            raise missing(object_name, object_id, param=param)
        return item.get("created") or 0, item["id"]

    if params.get("ending_before") and not params.get("starting_after"):
        newer = list(islice(seeded_history.merged(
            live_source, sources, store, below=None, above=cursor("ending_before"), descending=False,
            floor=floor, ceiling=ceiling, keep=keep, skip_live=skip_live), limit + 1))
        return objects.list_object(newer[:limit][::-1], len(newer) > limit, url)
    below = cursor("starting_after") if params.get("starting_after") else None
    older = list(islice(seeded_history.merged(
        live_source, sources, store, below=below, above=None, descending=True, floor=floor, ceiling=ceiling,
        keep=keep, skip_live=skip_live), limit + 1))
    return objects.list_object(older[:limit], len(older) > limit, url)

def _field_text(value: Any) -> Any:
    # Booleans arrive as "true"/"false" form strings; ids are compared as given.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    return value
