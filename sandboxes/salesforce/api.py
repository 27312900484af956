"""HTTP routes of the Salesforce sandbox: the REST API paths a client uses, and /_sandbox/ control.

Every vendor path goes through `_vendor`, which checks the API version and the bearer token,
turns ApiError into the vendor's error body and logs the request, so handlers stay about data.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from sandboxes.http import Request, Response, Router
from sandboxes.salesforce.errors import ApiError, invalid_session, not_found
from sandboxes.salesforce.schema import SCHEMAS
from sandboxes.salesforce.state import SalesforceState

# Oldest first, as GET /services/data/ lists them.
SUPPORTED_VERSIONS = (("57.0", "Spring '23"), ("58.0", "Summer '23"), ("59.0", "Winter '24"))
_VERSION_NUMBERS = frozenset(number for number, _ in SUPPORTED_VERSIONS)

Handler = Callable[[Request], Response]


class SalesforceApi:
    def __init__(self, state: SalesforceState, access_token: str) -> None:
        self.state = state
        self._access_token = access_token

    def router(self) -> Router:
        router = Router()

        def add(method: str, pattern: str, handler: Handler) -> None:
            # simple-salesforce mixes trailing-slash and bare forms (POST .../sobjects/Account/).
            router.add(method, pattern, handler)
            router.add(method, pattern + "/", handler)

        add("GET", "/services/data", self._logged(self.versions))
        base = "/services/data/v{version}"
        add("GET", base, self._vendor(self.resources))
        add("GET", base + "/query", self._vendor(self.query))
        add("GET", base + "/queryAll", self._vendor(self.query_all))
        add("GET", base + "/query/{locator}", self._vendor(self.query_more))
        add("GET", base + "/queryAll/{locator}", self._vendor(self.query_more))
        add("GET", base + "/sobjects/{sobject}/describe", self._vendor(self.describe))
        add("POST", base + "/sobjects/{sobject}", self._vendor(self.create))
        add("GET", base + "/sobjects/{sobject}/{record_id}", self._vendor(self.get))
        add("PATCH", base + "/sobjects/{sobject}/{record_id}", self._vendor(self.update))
        add("DELETE", base + "/sobjects/{sobject}/{record_id}", self._vendor(self.delete))
        add("GET", base + "/sobjects/{sobject}/{field}/{value}", self._vendor(self.get_by_external_id))
        add("PATCH", base + "/sobjects/{sobject}/{field}/{value}", self._vendor(self.upsert))

        add("GET", "/_sandbox/requests", lambda request: Response.json(self.state.requests()))
        add("POST", "/_sandbox/reset", self.control_reset)
        add("GET", "/_sandbox/accounts", lambda request: Response.json(self.state.snapshot()))
        add("POST", "/_sandbox/accounts", self.control_insert_accounts)
        return router

    def not_found(self, request: Request) -> Response:
        response = not_found().response()
        if not request.path.startswith("/_sandbox"):
            self._log(request, response)
        return response

    # -- plumbing ------------------------------------------------------------------------------

    def _logged(self, handler: Handler) -> Handler:
        def serve(request: Request) -> Response:
            try:
                response = handler(request)
            except ApiError as error:
                response = error.response()
            self._log(request, response)
            return response

        return serve

    def _vendor(self, handler: Handler) -> Handler:
        def guarded(request: Request) -> Response:
            if request.params.get("version") not in _VERSION_NUMBERS:
                raise not_found()
            if not self._authorized(request):
                raise invalid_session()
            sobject = request.params.get("sobject")
            if sobject is not None and sobject.lower() not in SCHEMAS:
                raise not_found()
            request.params = {name: unquote(value) for name, value in request.params.items()}
            return handler(request)

        return self._logged(guarded)

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        # Salesforce accepts the legacy "OAuth" scheme as well as "Bearer".
        return scheme.lower() in ("bearer", "oauth") and hmac.compare_digest(token.strip(), self._access_token)

    def _log(self, request: Request, response: Response) -> None:
        params = request.params
        upsert_key = f"{params['field']}/{params['value']}" if request.method == "PATCH" and "field" in params else None
        self.state.log_request({
            "method": request.method,
            "path": request.path,
            "query": {name: values[0] if len(values) == 1 else values for name, values in request.query.items()},
            "idempotency_key": upsert_key,  # Salesforce's idempotent write is upsert by external id
            "batch_size": _batch_size(request),
            "status": response.status,
        })

    # -- vendor handlers -----------------------------------------------------------------------

    def versions(self, request: Request) -> Response:
        return Response.json([
            {"label": label, "url": f"/services/data/v{number}", "version": number}
            for number, label in SUPPORTED_VERSIONS
        ])

    def resources(self, request: Request) -> Response:
        base = f"/services/data/v{request.params['version']}"
        return Response.json({name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "limits")})

    def query(self, request: Request, include_deleted: bool = False) -> Response:
        soql = request.arg("q")
        if not soql:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        page = self.state.query(soql, include_deleted, _batch_size(request), request.params["version"])
        return Response.json(page)

    def query_all(self, request: Request) -> Response:
        return self.query(request, include_deleted=True)

    def query_more(self, request: Request) -> Response:
        return Response.json(self.state.query_more(request.params["locator"], request.params["version"]))

    def describe(self, request: Request) -> Response:
        return Response.json(SCHEMAS[request.params["sobject"].lower()].describe(request.params["version"]))

    def create(self, request: Request) -> Response:
        record_id = self.state.create(_json_body(request))
        return Response.json({"id": record_id, "success": True, "errors": []}, status=201)

    def get(self, request: Request) -> Response:
        fields_arg = request.arg("fields")
        fields = [name.strip() for name in fields_arg.split(",")] if fields_arg else None
        return Response.json(self.state.get(request.params["record_id"], request.params["version"], fields))

    def update(self, request: Request) -> Response:
        self.state.update(request.params["record_id"], _json_body(request))
        return Response(status=204)

    def delete(self, request: Request) -> Response:
        self.state.delete(request.params["record_id"])
        return Response(status=204)

    def get_by_external_id(self, request: Request) -> Response:
        params = request.params
        return Response.json(self.state.get_by_external_id(params["field"], params["value"], params["version"]))

    def upsert(self, request: Request) -> Response:
        params = request.params
        record_id, created = self.state.upsert(params["field"], params["value"], _json_body(request), params["version"])
        body = {"id": record_id, "success": True, "errors": [], "created": created}
        return Response.json(body, status=201 if created else 200)

    # -- control handlers ----------------------------------------------------------------------

    def control_reset(self, request: Request) -> Response:
        self.state.reset()
        return Response.json({"reset": True})

    def control_insert_accounts(self, request: Request) -> Response:
        try:
            ids = self.state.insert_unchecked(_json_body(request))
        except ApiError as error:
            return error.response()
        return Response.json({"ids": ids}, status=201)


def _json_body(request: Request) -> Any:
    try:
        return request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc}") from exc


def _batch_size(request: Request) -> int | None:
    """batchSize from `Sforce-Query-Options: batchSize=N` (comma-separated options)."""
    for option in request.headers.get("sforce-query-options", "").split(","):
        name, _, value = option.strip().partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return int(value.strip())
    return None
