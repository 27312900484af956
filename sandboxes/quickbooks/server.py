"""The QuickBooks Online sandbox: Accounting API v3 paths over HTTPS, plus a /_sandbox/ control API.

Vendor paths (`/v3/company/{realmId}/...`) need `Authorization: Bearer <token>`; writes honour the
`requestid` query parameter as QuickBooks does: a repeated requestid gets the stored response of the
first call and writes nothing. All state sits behind one lock.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sandboxes.http import Request, Response, Router, SandboxServer, ServedSandbox
from sandboxes.quickbooks import faults
from sandboxes.quickbooks.company import DELETABLE, ENTITIES, UPDATABLE, WRITABLE, Company
from sandboxes.quickbooks.faults import Fault
from sandboxes.quickbooks.values import format_response_time
from sandboxes.seed import SeedData
from sandboxes.tls import LocalCA

REALM_ID = "9341453050298765"
_ENTITY_BY_PATH = {name.lower(): name for name in ENTITIES}
_INJECTABLE_STATUSES = {429, 500, 503}


class QuickBooksSandbox(ServedSandbox):
    def __init__(self, seed: SeedData, tls: LocalCA | None = None, port: int = 0) -> None:
        self.seed = seed
        self.realm_id = REALM_ID
        # Deterministic per seed, so a runner and its tests agree without sharing state.
        self.access_token = "qbo-sandbox-" + hashlib.sha256(f"quickbooks:{seed.seed}".encode()).hexdigest()[:32]
        self._lock = threading.RLock()
        self._clock_offset = timedelta(0)
        self._reset_state()
        self._server = SandboxServer("quickbooks", self._routes(), tls, port, not_found=self._not_found)

    def credentials(self) -> dict[str, str]:
        return {
            "QUICKBOOKS_BASE_URL": self.base_url,
            "QUICKBOOKS_REALM_ID": self.realm_id,
            "QUICKBOOKS_ACCESS_TOKEN": self.access_token,
        }

    # ---- state ------------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.now(UTC) + self._clock_offset

    def _reset_state(self) -> None:
        with self._lock:
            self.company = Company(self.realm_id, self.now)
            self._replays: dict[str, Response] = {}
            self._requests: list[dict] = []
            self._pending_faults: list[int] = []

    # ---- routing ----------------------------------------------------------------------------
    def _routes(self) -> Router:
        router = Router()
        base = "/v3/company/{realm}"
        router.add("POST", base + "/query", self._vendor(self._query))
        router.add("GET", base + "/query", self._vendor(self._query))
        router.add("GET", base + "/{entity}/{id}", self._vendor(self._read))
        router.add("POST", base + "/{entity}", self._vendor(self._write))
        router.add("GET", "/_sandbox/requests", lambda request: Response.json(self._requests_snapshot()))
        router.add("POST", "/_sandbox/reset", self._control_reset)
        router.add("POST", "/_sandbox/clock", self._control_clock)
        router.add("POST", "/_sandbox/faults", self._control_faults)
        router.add("POST", "/_sandbox/edit/{entity}/{id}", self._control_edit)
        return router

    def _vendor(self, handler):
        """Wraps a vendor handler: auth, realm, injected faults, requestid replay, Fault bodies, log."""

        def wrapped(request: Request) -> Response:
            request_id = request.arg("requestid")
            with self._lock:
                replayed = request_id is not None and request.method == "POST" and request_id in self._replays
                if replayed:
                    response = self._replays[request_id]  # type: ignore[index]
                else:
                    response = self._answer(handler, request)
                    if request_id is not None and request.method == "POST" and response.status not in (401, 403, 429):
                        self._replays[request_id] = response
                self._log(request, response, replayed)
            return response

        return wrapped

    def _answer(self, handler, request: Request) -> Response:
        try:
            self._authorize(request)
            if self._pending_faults:
                raise self._injected_fault(self._pending_faults.pop(0))
            return Response.json({**handler(request), "time": format_response_time(self.now())})
        except Fault as fault:
            return Response.json(fault.body(format_response_time(self.now())), fault.status, fault.headers)

    def _authorize(self, request: Request) -> None:
        if request.headers.get("authorization", "") != "Bearer " + self.access_token:
            raise faults.authentication_failed()
        if request.params.get("realm") != self.realm_id:
            raise faults.realm_not_authorized(request.params.get("realm", ""))

    @staticmethod
    def _injected_fault(status: int) -> Fault:
        if status == 429:
            return faults.throttled()
        return Fault(code="10000", message="An application error has occurred while processing your request",
                     detail="System Failure Error: injected by the sandbox", fault_type="SystemFault", status=status)

    def _not_found(self, request: Request) -> Response:
        fault = faults.unsupported_operation(f"{request.method} {request.path}")
        response = Response.json(fault.body(format_response_time(self.now())), fault.status)
        with self._lock:
            self._log(request, response, False)
        return response

    # ---- vendor handlers --------------------------------------------------------------------
    def _query(self, request: Request) -> dict:
        statement = request.arg("query") if request.method == "GET" else request.text()
        if not statement:
            raise faults.query_parser_error("Encountered <EOF>: the query is empty")
        return {"QueryResponse": self.company.query(statement)}

    def _read(self, request: Request) -> dict:
        entity = self._entity(request)
        return {entity: self.company.read(entity, request.params["id"])}

    def _write(self, request: Request) -> dict:
        entity = self._entity(request)
        payload = self._payload(request)
        operation = request.arg("operation")
        if operation == "delete":
            if entity not in DELETABLE:
                raise faults.unsupported_operation(f"delete {entity}")
            return {entity: self.company.delete(entity, payload)}
        if operation is not None:
            raise faults.unsupported_operation(f"{operation} {entity}")
        if entity not in WRITABLE:
            raise faults.unsupported_operation(f"create {entity}")
        if "Id" in payload:
            if entity not in UPDATABLE:
                raise faults.unsupported_operation(f"update {entity}")
            return {entity: self.company.update(entity, payload)}
        return {entity: self.company.create(entity, payload)}

    @staticmethod
    def _entity(request: Request) -> str:
        entity = _ENTITY_BY_PATH.get(request.params["entity"].lower())
        if entity is None:
            raise faults.unsupported_operation(f"{request.method} {request.params['entity']}")
        return entity

    @staticmethod
    def _payload(request: Request) -> dict:
        try:
            payload = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise Fault(code="2010", message="Request has invalid or unsupported property",
                        detail=f"Request body is not valid JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise faults.unsupported_property("body")
        return payload

    # ---- request log ------------------------------------------------------------------------
    def _log(self, request: Request, response: Response, replayed: bool) -> None:
        entry = {
            "method": request.method,
            "path": request.path,
            "query": {name: values[0] for name, values in request.query.items()},
            "requestid": request.arg("requestid"),
            "status": response.status,
            "replayed": replayed,
        }
        if request.path.endswith("/query"):
            entry["statement"] = request.arg("query") if request.method == "GET" else request.text()
        self._requests.append(entry)

    def _requests_snapshot(self) -> list[dict]:
        with self._lock:
            return list(self._requests)

    # ---- control API ------------------------------------------------------------------------
    def _control_reset(self, request: Request) -> Response:
        self._reset_state()
        return Response.json({"reset": True})

    def _control_clock(self, request: Request) -> Response:
        """{"advance_seconds": n}: move the sandbox clock forward (cursor and timestamp tests)."""
        seconds = Decimal(str(request.json().get("advance_seconds", 0)))
        with self._lock:
            self._clock_offset += timedelta(seconds=int(seconds))
            return Response.json({"now": self.now().isoformat()})

    def _control_faults(self, request: Request) -> Response:
        """{"status": 429|500|503, "times": n}: the next n vendor requests fail that way."""
        body = request.json()
        status, times = int(body.get("status", 500)), int(body.get("times", 1))
        if status not in _INJECTABLE_STATUSES:
            return Response.json({"error": f"status must be one of {sorted(_INJECTABLE_STATUSES)}"}, 400)
        with self._lock:
            self._pending_faults.extend([status] * times)
            return Response.json({"pending": list(self._pending_faults)})

    def _control_edit(self, request: Request) -> Response:
        """Plant drift: change a Customer or Invoice as a bookkeeper would in the QuickBooks UI."""
        entity = _ENTITY_BY_PATH.get(request.params["entity"].lower())
        if entity not in UPDATABLE:
            return Response.json({"error": f"only {', '.join(UPDATABLE)} can be edited"}, 400)
        with self._lock:
            try:
                record = self.company.edit(entity, request.params["id"], request.json())
            except Fault as fault:
                return Response.json(fault.body(format_response_time(self.now())), fault.status)
            return Response.json({entity: record})

