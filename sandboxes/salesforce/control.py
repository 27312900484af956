"""The /_sandbox/ control API: no vendor has it. Tests use it to reset the org, plant rows the API
would refuse, move the sandbox clock, inject UNABLE_TO_LOCK_ROW, tune limits, add custom fields (as an
admin would in Setup), set how long Bulk API jobs run and make them fail, and read the request log.

`/_sandbox/limits` sets the daily quota, the session timeout, the long-request cap and threshold, and
`request_seconds` (every vendor request held that long, so requests overlap); GET also reports
`api_requests_used`, `in_flight` and `peak_in_flight` (the most requests in flight at once since reset).
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandboxes.http import Request, Response
from sandboxes.salesforce.errors import ApiError
from sandboxes.salesforce.schema import FieldSpec

_CUSTOM_FIELD_TYPES = {"string": 255, "textarea": 32768, "email": 80, "phone": 40, "url": 255, "picklist": 255,
                       "boolean": 0, "int": 0, "double": 0, "currency": 0, "percent": 0, "date": 0, "datetime": 0}

if TYPE_CHECKING:
    from sandboxes.salesforce import SalesforceSandbox
    from sandboxes.salesforce.api import AddRoute


def control_routes(sandbox: SalesforceSandbox, add: AddRoute) -> None:
    state = sandbox.state

    def guarded(handler: Any) -> Any:
        def serve(request: Request) -> Response:
            try:
                return handler(request)
            except ApiError as error:
                return error.response()
            except (ValueError, TypeError) as error:
                return Response.json({"error": str(error)}, status=400)

        return serve

    def clock(request: Request) -> Response:
        if request.method == "POST":
            body = request.json()
            seconds = body.get("advance_seconds") if isinstance(body, dict) else None
            if isinstance(seconds, bool) or not isinstance(seconds, int | float | Decimal) or seconds < 0:
                raise ValueError("expected {\"advance_seconds\": <number of seconds, 0 or more>}")
            sandbox.clock.advance(float(seconds))
        return Response.json({"now": int(sandbox.clock.now().timestamp())})

    def reset(request: Request) -> Response:
        sandbox.reset()
        return Response.json({"reset": True})

    def records(request: Request) -> Response:
        sobject = request.params.get("sobject", "Account")
        if request.method == "POST":
            return Response.json({"ids": state.insert_unchecked(request.json(), sobject)}, status=201)
        return Response.json(state.snapshot(sobject))

    def lock_rows(request: Request) -> Response:
        body = request.json()
        ids, times = body.get("ids", []), body.get("times", 1)
        if not isinstance(ids, list) or not isinstance(times, int) or times < 1:
            raise ValueError("expected {\"ids\": [record ids, empty for any write], \"times\": N >= 1}")
        state.inject_lock_failures([str(record_id) for record_id in ids], times)
        return Response.json({"ids": ids, "times": times})

    def limits(request: Request) -> Response:
        if request.method == "POST":
            sandbox.configure_limits(**request.json())
        return Response.json(sandbox.limit_settings())

    def bulk(request: Request) -> Response:
        if request.method == "POST":
            body = request.json()
            if not isinstance(body, dict) or set(body) - {"in_progress_polls", "in_progress_seconds", "fail_next"}:
                raise ValueError("expected {\"in_progress_polls\": N, \"in_progress_seconds\": S, "
                                 "\"fail_next\": {\"count\": N, \"kind\": \"query\", \"message\": \"...\"}}")
            sandbox.bulk.configure(**body)
        return Response.json(sandbox.bulk.settings())

    def add_field(request: Request) -> Response:
        spec = _custom_field(request.json())
        state.add_custom_field(request.params["sobject"], spec)
        return Response.json(spec.describe(), status=201)

    def oauth(request: Request) -> Response:
        return Response.json(asdict(sandbox.oauth_client))

    add("GET", "/_sandbox/requests", lambda request: Response.json(state.requests()))
    add("POST", "/_sandbox/reset", guarded(reset))
    add("GET", "/_sandbox/clock", guarded(clock))
    add("POST", "/_sandbox/clock", guarded(clock))
    add("GET", "/_sandbox/accounts", guarded(records))
    add("POST", "/_sandbox/accounts", guarded(records))
    add("GET", "/_sandbox/records/{sobject}", guarded(records))
    add("POST", "/_sandbox/records/{sobject}", guarded(records))
    add("POST", "/_sandbox/lock_rows", guarded(lock_rows))
    add("GET", "/_sandbox/limits", guarded(limits))
    add("POST", "/_sandbox/limits", guarded(limits))
    add("GET", "/_sandbox/oauth", guarded(oauth))
    add("GET", "/_sandbox/bulk", guarded(bulk))
    add("POST", "/_sandbox/bulk", guarded(bulk))
    add("POST", "/_sandbox/fields/{sobject}", guarded(add_field))


def _custom_field(body: Any) -> FieldSpec:
    """{"name": "Tier__c", "type": "string", "label": "Tier", "length": 40, "external_id": false, "unique": false}"""
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) \
            or body.get("type") not in _CUSTOM_FIELD_TYPES:
        raise ValueError(f"expected {{\"name\": \"X__c\", \"type\": one of {sorted(_CUSTOM_FIELD_TYPES)}, "
                         "\"label\", \"length\", \"precision\", \"scale\", \"external_id\", \"unique\"}")
    kind = body["type"]
    return FieldSpec(
        body["name"], kind, str(body.get("label") or body["name"][:-3].replace("_", " ")),
        length=int(body.get("length", _CUSTOM_FIELD_TYPES[kind])),
        precision=int(body.get("precision", 18 if kind in ("double", "currency", "percent") else 0)),
        scale=int(body.get("scale", 2 if kind == "currency" else 0)),
        external_id=bool(body.get("external_id", False)), unique=bool(body.get("unique", False)),
        case_sensitive=bool(body.get("case_sensitive", False)),
        picklist_values=tuple(str(value) for value in body.get("picklist_values", ())),
        nillable=kind != "boolean", default=False if kind == "boolean" else None,
    )
