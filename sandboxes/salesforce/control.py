"""The /_sandbox/ control API: no vendor has it. Tests use it to reset the org, plant rows the API
would refuse, move the sandbox clock, inject UNABLE_TO_LOCK_ROW, tune limits and read the request log.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandboxes.http import Request, Response
from sandboxes.salesforce.errors import ApiError

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
