"""Stripe's search endpoints (/v1/customers/search, /v1/invoices/search) with a subset of the query
language: `field:'value'` (exact, case-insensitive), `field~'sub'` (substring), `field>N` / `<` /
`>=` / `<=` on numbers, `metadata['key']:'value'`, a leading `-` negates; clauses joined by AND or by
OR (not both, as at Stripe). Results page with an opaque `next_page` token.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from sandboxes.stripe import objects
from sandboxes.stripe.errors import StripeApiError, invalid_param
from sandboxes.stripe.params import optional_int, optional_str, reject_unknown
from sandboxes.stripe.state import StripeState, newest_first

Body = dict[str, Any]
Path = dict[str, str]
_CLAUSE = re.compile(
    r"""\s*(?P<neg>-)?(?P<field>[a-z_]+(?:\[['"][^'"]+['"]\])?)\s*(?P<op>:|~|>=|<=|>|<)\s*"""
    r"""(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)"|(?P<bare>-?[0-9]+|null))\s*"""
)
_JOINER = re.compile(r"\s+(AND|OR)\s+")

FIELDS = {
    "customers": {"created", "email", "metadata", "name", "phone"},
    "invoices": {"created", "currency", "customer", "metadata", "number", "receipt_number", "status", "total",
                 "subscription"},
}


def _syntax_error(query: str) -> StripeApiError:
    return StripeApiError(400, f"We were unable to parse your search query. Try using the format `metadata['key']:"
                          f"'value'` or `field:'value'`. Query: {query}", param="query", code="parameter_invalid",
                          replayable=False)


def _clause(match: re.Match[str], resource: str) -> Callable[[Body], bool]:
    field, op = match["field"], match["op"]
    value = match["single"] if match["single"] is not None else match["double"]
    if value is None:
        value = match["bare"]
    base, _, key = field.partition("[")
    if base not in FIELDS[resource]:
        raise StripeApiError(400, f"Field `{base}` is an unsupported search field for resource `{resource}`. See "
                             f"http://stripe.com/docs/search#query-fields-for-{resource} for a list of supported "
                             "fields.", param="query", replayable=False)
    meta_key = key.strip("]'\"") if key else None

    def read(obj: Body) -> Any:
        if meta_key is not None:
            return (obj.get("metadata") or {}).get(meta_key)
        if base == "subscription":
            return ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription")
        return obj.get(base)

    def test(obj: Body) -> bool:
        actual = read(obj)
        if value == "null":
            return actual is None
        if op == ":":
            return actual is not None and str(actual).lower() == value.lower()
        if op == "~":
            return actual is not None and value.lower() in str(actual).lower()
        if not isinstance(actual, int) or not re.fullmatch(r"-?[0-9]+", value):
            return False
        number = int(value)
        return {">": actual > number, "<": actual < number, ">=": actual >= number, "<=": actual <= number}[op]

    return (lambda obj: not test(obj)) if match["neg"] else test


def parse(query: str, resource: str) -> Callable[[Body], bool]:
    joiners = set(_JOINER.findall(query))
    if len(joiners) > 1:
        raise StripeApiError(400, "Search queries cannot combine AND and OR.", param="query", replayable=False)
    parts = _JOINER.split(query)[::2] if joiners else [query]
    clauses = []
    for part in parts:
        match = _CLAUSE.fullmatch(part)
        if match is None:
            raise _syntax_error(query)
        clauses.append(_clause(match, resource))
    if "OR" in joiners:
        return lambda obj: any(clause(obj) for clause in clauses)
    return lambda obj: all(clause(obj) for clause in clauses)


def _page_offset(params: Body) -> int:
    token = optional_str(params, "page")
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
    except ValueError:
        raise invalid_param("page", f"Invalid page token: {token}") from None


def _search(items: list[Body], params: Body, resource: str) -> Body:
    reject_unknown(params, {"query", "limit", "page"})
    query = optional_str(params, "query")
    if not query:
        raise invalid_param("query", "Missing required param: query.", "parameter_missing")
    matches = parse(query, resource)
    limit = optional_int(params, "limit")
    limit = 10 if limit is None else limit
    if not 1 <= limit <= 100:
        raise invalid_param("limit", f"Invalid limit: must be between 1 and 100 (got {limit})",
                            "parameter_invalid_integer")
    found = newest_first([item for item in items if matches(item)])
    offset = _page_offset(params)
    page = found[offset : offset + limit]
    has_more = offset + limit < len(found)
    next_page = base64.urlsafe_b64encode(f"offset:{offset + limit}".encode()).decode() if has_more else None
    return {"object": "search_result", "data": page, "has_more": has_more, "next_page": next_page,
            "url": f"/v1/{resource}/search"}


def search_customers(state: StripeState, params: Body, _: Path, __: int) -> Body:
    return _search(list(state.customers.values()), params, "customers")


def search_invoices(state: StripeState, params: Body, _: Path, __: int) -> Body:
    invoices = list(state.invoices.values())
    if state.history is not None:  # every seeded renewal too: a full scan, slow at large scales
        invoices += [invoice for invoice in state.history.all_invoices()
                     if not dict.__contains__(state.invoices, invoice["id"])]
    result = _search(invoices, params, "invoices")
    result["data"] = [objects.render_invoice(invoice, state.lines_of(invoice["id"])) for invoice in result["data"]]
    return result


ROUTES = [
    ("GET", "/v1/customers/search", search_customers),
    ("GET", "/v1/invoices/search", search_invoices),
]
