"""HTTP routes of the Salesforce sandbox: the REST API paths a client uses (and the OAuth token
endpoint); the Bulk API 2.0 and /_sandbox/ control routes are added by their own modules.

Every vendor path goes through `_vendor`, which checks the API version, the session, the daily
API quota and the long-request cap, turns ApiError into the vendor's error body, stamps
`Sforce-Limit-Info` and logs the request, so handlers stay about data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from sandboxes.http import Request, Response, Router
from sandboxes.salesforce import collections, replication
from sandboxes.salesforce.errors import ApiError, invalid_session, not_found
from sandboxes.salesforce.limits import ApiUsage, LongRequests
from sandboxes.salesforce.sessions import OAuthError, Sessions
from sandboxes.salesforce.state import SalesforceState

# Oldest first, as GET /services/data/ lists them.
SUPPORTED_VERSIONS = (
    ("57.0", "Spring '23"), ("58.0", "Summer '23"), ("59.0", "Winter '24"), ("60.0", "Spring '24"),
    ("61.0", "Summer '24"), ("62.0", "Winter '25"),
)
_VERSION_NUMBERS = frozenset(number for number, _ in SUPPORTED_VERSIONS)
BASE = "/services/data/v{version}"

Handler = Callable[[Request], Response]
AddRoute = Callable[[str, str, Handler], None]


class SalesforceApi:
    def __init__(self, state: SalesforceState, sessions: Sessions, usage: ApiUsage, long_requests: LongRequests,
                 base_url: Callable[[], str]) -> None:
        self.state = state
        self.sessions = sessions
        self.usage = usage
        self.long_requests = long_requests
        self._base_url = base_url

    def router(self, *extensions: Callable[[SalesforceApi, AddRoute], None]) -> Router:
        router = Router()

        def add(method: str, pattern: str, handler: Handler) -> None:
            # simple-salesforce mixes trailing-slash and bare forms (POST .../sobjects/Account/).
            router.add(method, pattern, handler)
            router.add(method, pattern + "/", handler)

        add("GET", "/services/data", self.logged(self.versions))
        add("POST", "/services/oauth2/token", self.logged(self.token))
        add("GET", BASE, self.vendor(self.resources))
        add("GET", BASE + "/limits", self.vendor(self.limits))
        add("GET", BASE + "/query", self.vendor(self.query))
        add("GET", BASE + "/queryAll", self.vendor(self.query_all))
        add("GET", BASE + "/query/{locator}", self.vendor(self.query_more))
        add("GET", BASE + "/queryAll/{locator}", self.vendor(self.query_more))
        add("POST", BASE + "/composite/sobjects", self.vendor(self.collection_create))
        add("PATCH", BASE + "/composite/sobjects", self.vendor(self.collection_update))
        add("DELETE", BASE + "/composite/sobjects", self.vendor(self.collection_delete))
        add("PATCH", BASE + "/composite/sobjects/{sobject}/{field}", self.vendor(self.collection_upsert))
        add("GET", BASE + "/sobjects", self.vendor(self.describe_global))
        add("GET", BASE + "/sobjects/{sobject}", self.vendor(self.sobject_info))
        add("GET", BASE + "/sobjects/{sobject}/describe", self.vendor(self.describe))
        add("GET", BASE + "/sobjects/{sobject}/updated", self.vendor(self.updated))
        add("GET", BASE + "/sobjects/{sobject}/deleted", self.vendor(self.deleted))
        add("POST", BASE + "/sobjects/{sobject}", self.vendor(self.create))
        add("GET", BASE + "/sobjects/{sobject}/{record_id}", self.vendor(self.get))
        add("PATCH", BASE + "/sobjects/{sobject}/{record_id}", self.vendor(self.update))
        add("DELETE", BASE + "/sobjects/{sobject}/{record_id}", self.vendor(self.delete))
        add("GET", BASE + "/sobjects/{sobject}/{field}/{value}", self.vendor(self.get_by_external_id))
        add("PATCH", BASE + "/sobjects/{sobject}/{field}/{value}", self.vendor(self.upsert))
        for extension in extensions:
            extension(self, add)
        return router

    def not_found(self, request: Request) -> Response:
        response = not_found().response()
        if not request.path.startswith("/_sandbox"):
            self._log(request, response)
        return response

    # -- plumbing ------------------------------------------------------------------------------

    def logged(self, handler: Handler) -> Handler:
        def serve(request: Request) -> Response:
            try:
                response = handler(request)
            except ApiError as error:
                response = error.response()
            if request.path.startswith("/services/data/"):
                response.headers["Sforce-Limit-Info"] = self.usage.header()
            self._log(request, response)
            return response

        return serve

    def vendor(self, handler: Handler) -> Handler:
        def guarded(request: Request) -> Response:
            if request.params.get("version") not in _VERSION_NUMBERS:
                raise not_found()
            if not self._authorized(request):
                raise invalid_session()
            sobject = request.params.get("sobject")
            if sobject is not None and sobject.lower() not in self.state.schemas:
                raise not_found()
            self.usage.record()
            ticket = self.long_requests.begin()
            try:
                self.long_requests.hold()
                request.params = {name: unquote(value) for name, value in request.params.items()}
                return handler(request)
            finally:
                self.long_requests.end(ticket)

        return self.logged(guarded)

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        # Salesforce accepts the legacy "OAuth" scheme as well as "Bearer".
        return scheme.lower() in ("bearer", "oauth") and self.sessions.is_valid(token.strip())

    def _log(self, request: Request, response: Response) -> None:
        params = request.params
        upsert_key = f"{params['field']}/{params['value']}" if request.method == "PATCH" and "value" in params else None
        self.state.log_request({
            "method": request.method,
            "path": request.path,
            "query": {name: values[0] if len(values) == 1 else values for name, values in request.query.items()},
            "idempotency_key": upsert_key,  # Salesforce's idempotent write is upsert by external id
            "batch_size": batch_size_of(request),
            "status": response.status,
        })

    # -- discovery and auth --------------------------------------------------------------------

    def versions(self, request: Request) -> Response:
        return Response.json([
            {"label": label, "url": f"/services/data/v{number}", "version": number}
            for number, label in SUPPORTED_VERSIONS
        ])

    def resources(self, request: Request) -> Response:
        base = f"/services/data/v{request.params['version']}"
        names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
        return Response.json({name: f"{base}/{name}" for name in names})

    def token(self, request: Request) -> Response:
        try:
            return Response.json(self.sessions.grant(request.form(), self._base_url()))
        except OAuthError as error:
            return Response.json(error.body, status=error.status)

    def limits(self, request: Request) -> Response:
        used = self.usage.used()
        return Response.json({
            "DailyApiRequests": {"Max": self.usage.daily_limit, "Remaining": max(self.usage.daily_limit - used, 0)},
        })

    # -- queries -------------------------------------------------------------------------------

    def query(self, request: Request, include_deleted: bool = False) -> Response:
        soql = request.arg("q")
        if not soql:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        page = self.state.query(soql, include_deleted, batch_size_of(request), request.params["version"])
        return Response.json(page)

    def query_all(self, request: Request) -> Response:
        return self.query(request, include_deleted=True)

    def query_more(self, request: Request) -> Response:
        return Response.json(self.state.query_more(request.params["locator"], request.params["version"]))

    # -- sObject describe and replication ------------------------------------------------------

    def describe_global(self, request: Request) -> Response:
        version = request.params["version"]
        return Response.json({
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [schema.summary(version) for schema in self.state.schemas.values()],
        })

    def sobject_info(self, request: Request) -> Response:
        schema = self.state.schemas[request.params["sobject"].lower()]
        return Response.json({"objectDescribe": schema.summary(request.params["version"]), "recentItems": []})

    def describe(self, request: Request) -> Response:
        return Response.json(self.state.schemas[request.params["sobject"].lower()].describe(request.params["version"]))

    def updated(self, request: Request) -> Response:
        body = replication.get_updated(self.state, request.params["sobject"], request.arg("start"), request.arg("end"))
        return Response.json(body)

    def deleted(self, request: Request) -> Response:
        body = replication.get_deleted(self.state, request.params["sobject"], request.arg("start"), request.arg("end"))
        return Response.json(body)

    # -- single records ------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        record_id = self.state.create(request.params["sobject"], json_body(request))
        return Response.json({"id": record_id, "success": True, "errors": []}, status=201)

    def get(self, request: Request) -> Response:
        fields_arg = request.arg("fields")
        fields = [name.strip() for name in fields_arg.split(",")] if fields_arg else None
        params = request.params
        return Response.json(self.state.get(params["sobject"], params["record_id"], params["version"], fields))

    def update(self, request: Request) -> Response:
        self.state.update(request.params["sobject"], request.params["record_id"], json_body(request))
        return Response(status=204)

    def delete(self, request: Request) -> Response:
        self.state.delete(request.params["sobject"], request.params["record_id"])
        return Response(status=204)

    def get_by_external_id(self, request: Request) -> Response:
        params = request.params
        return Response.json(self.state.get_by_external_id(params["sobject"], params["field"], params["value"],
                                                           params["version"]))

    def upsert(self, request: Request) -> Response:
        params = request.params
        record_id, created = self.state.upsert(params["sobject"], params["field"], params["value"],
                                               json_body(request), params["version"])
        body = {"id": record_id, "success": True, "errors": [], "created": created}
        return Response.json(body, status=201 if created else 200)

    # -- sObject Collections -------------------------------------------------------------------

    def collection_create(self, request: Request) -> Response:
        return Response.json(collections.create(self.state, json_body(request)))

    def collection_update(self, request: Request) -> Response:
        return Response.json(collections.update(self.state, json_body(request)))

    def collection_upsert(self, request: Request) -> Response:
        params = request.params
        return Response.json(collections.upsert(self.state, params["sobject"], params["field"], json_body(request),
                                                params["version"]))

    def collection_delete(self, request: Request) -> Response:
        return Response.json(collections.delete(self.state, request.arg("ids"), request.arg("allOrNone")))


def json_body(request: Request) -> Any:
    try:
        return request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc}") from exc


def batch_size_of(request: Request) -> int | None:
    """batchSize from `Sforce-Query-Options: batchSize=N` (comma-separated options)."""
    for option in request.headers.get("sforce-query-options", "").split(","):
        name, _, value = option.strip().partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return int(value.strip())
    return None
