"""The QuickBooks Online sandbox: Accounting API v3 paths over HTTPS, plus a /_sandbox/ control API.

Vendor paths (`/v3/company/{realmId}/...`) need `Authorization: Bearer <token>`; writes honour the
`requestid` query parameter as QuickBooks does: a repeated requestid gets the stored response of the
first call and writes nothing. Also served: CDC, batch, Intuit's OAuth endpoints (oauth.py), per-realm
throttling (throttle.py, off unless configured) and CloudEvents webhooks (webhooks.py). Every answer
carries an `intuit_tid` header, QuickBooks' request id. All state sits behind one lock.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sandboxes.http import Request, Response, Router, SandboxServer, ServedSandbox
from sandboxes.quickbooks import faults, persistence
from sandboxes.quickbooks.cdc import change_data_capture
from sandboxes.quickbooks.company import DELETABLE, ENTITIES, UPDATABLE, WRITABLE, Company
from sandboxes.quickbooks.faults import Fault
from sandboxes.quickbooks.oauth import TOKEN_PATH, OAuthServer
from sandboxes.quickbooks.prefill import prefill_books
from sandboxes.quickbooks.throttle import Throttle
from sandboxes.quickbooks.values import format_response_time
from sandboxes.quickbooks.webhooks import WebhookHub
from sandboxes.seed import SeedData
from sandboxes.tls import LocalCA

REALM_ID = "9341453050298765"
MAX_BATCH_ITEMS = 30
_ENTITY_BY_PATH = {name.lower(): name for name in ENTITIES}
_INJECTABLE_STATUSES = {429, 500, 503}
FAULT_KINDS = ("rate_limit", "server_error", "expired_token")


class QuickBooksSandbox(ServedSandbox):
    def __init__(
        self,
        seed: SeedData,
        tls: LocalCA | None = None,
        port: int = 0,
        throttle: Throttle | bool | None = None,
        expire_initial_token: bool = False,
    ) -> None:
        """`throttle`: QuickBooks' rate limits (True or Throttle() for the real 500/min, 10/s per realm; a
        Throttle with other limits for tests); None or False serves unthrottled.
        `expire_initial_token`: the access token in credentials() dies after an hour of sandbox clock, as a
        real one does; off by default because clients without refresh support would then fail mid-test."""
        self.seed = seed
        self.realm_id = REALM_ID
        # Deterministic per seed, so a runner and its tests agree without sharing state.
        self.access_token = "qbo-sandbox-" + hashlib.sha256(f"quickbooks:{seed.seed}".encode()).hexdigest()[:32]
        self.verifier_token = hashlib.sha256(f"quickbooks-verifier:{seed.seed}".encode()).hexdigest()[:36]
        self.expire_initial_token = expire_initial_token
        self.throttle = Throttle() if throttle is True else throttle or None
        self._lock = threading.RLock()
        self._clock_offset = timedelta(0)
        self._tid_count = 0  # intuit_tid sequence, saved in snapshots so restored runs do not repeat tids
        self.webhooks = WebhookHub(self.realm_id, self.verifier_token, f"concord-sandbox:{seed.seed}",
                                   ca_file=str(tls.bundle_path) if tls is not None else None,
                                   faults=lambda: self.fault_injector)
        self._reset_state()
        self._server = SandboxServer("quickbooks", self._routes(), tls, port, not_found=self._not_found)

    def credentials(self) -> dict[str, str]:
        return {
            "QUICKBOOKS_BASE_URL": self.base_url,
            "QUICKBOOKS_REALM_ID": self.realm_id,
            "QUICKBOOKS_ACCESS_TOKEN": self.access_token,
            "QUICKBOOKS_CLIENT_ID": self.oauth.client_id,
            "QUICKBOOKS_CLIENT_SECRET": self.oauth.client_secret,
            "QUICKBOOKS_REFRESH_TOKEN": self.refresh_token,
            "QUICKBOOKS_TOKEN_URL": self.base_url + TOKEN_PATH,
            "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN": self.verifier_token,
        }

    def snapshot(self) -> dict:
        """Everything needed to bring this company back after a restart, as plain JSON (persistence.py)."""
        with self._lock:
            return persistence.snapshot(self)

    def restore(self, data: dict) -> None:
        """Replace the current state with a snapshot() taken from a sandbox with the same seed."""
        with self._lock:
            persistence.restore(self, data)

    def stop(self) -> None:
        self.webhooks.stop()
        super().stop()

    # ---- state ------------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.now(UTC) + self._clock_offset

    def _reset_state(self) -> None:
        with self._lock:
            self.company = Company(self.realm_id, self.now)
            self.company.listeners.append(self.webhooks.record)
            self.oauth = OAuthServer(self.seed.seed, self.realm_id, self.now)
            self.oauth.register_access_token(self.access_token, expires=self.expire_initial_token)
            self.refresh_token = self.oauth.new_refresh_token()
            if self.throttle is not None:
                self.throttle.reset()
            self._replays: dict[str, Response] = {}
            self._requests: list[dict] = []
            self._pending_faults: list[int] = []

    def fault_response(self, kind: str, request: Request) -> Response:
        """QuickBooks' real answer to an injected fault: 429 throttle, 500 system failure, 401 expired token."""
        if kind == "expired_token":
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            return self._fault_response(faults.token_expired(token if scheme.lower() == "bearer" else ""))
        fault = {"rate_limit": faults.throttled, "server_error": faults.system_failure}.get(kind)
        if fault is None:
            raise ValueError(f"unknown fault kind {kind!r}; QuickBooks knows {', '.join(FAULT_KINDS)}")
        return self._fault_response(fault())

    def _fault_response(self, fault: Fault) -> Response:
        now = self.now()
        if fault.xml:
            headers = {**fault.headers, "Content-Type": "application/xml", "intuit_tid": self._next_tid()}
            return Response(fault.status, fault.xml_body(format_response_time(now)), headers)
        body = fault.gateway_body(int(now.timestamp() * 1000)) if fault.from_gateway else fault.body(
            format_response_time(now))
        return Response.json(body, fault.status, {**fault.headers, "intuit_tid": self._next_tid()})

    def _next_tid(self) -> str:
        self._tid_count += 1
        number = self._tid_count
        digest = hashlib.sha256(f"tid:{self.seed.seed}:{number}".encode()).hexdigest()
        return f"1-{digest[:8]}-{digest[8:32]}"

    # ---- routing ----------------------------------------------------------------------------
    def _routes(self) -> Router:
        router = Router()
        base = "/v3/company/{realm}"
        router.add("POST", base + "/query", self._vendor(self._query))
        router.add("GET", base + "/query", self._vendor(self._query))
        router.add("GET", base + "/cdc", self._vendor(self._cdc))
        router.add("POST", base + "/batch", self._vendor(self._batch))
        router.add("GET", base + "/{entity}/{id}", self._vendor(self._read))
        router.add("POST", base + "/{entity}", self._vendor(self._write))
        for path in ("/.well-known/openid_sandbox_configuration", "/.well-known/openid_configuration"):
            router.add("GET", path, lambda request: Response.json(OAuthServer.discovery(self.base_url)))
        router.add("POST", TOKEN_PATH, self._locked(lambda request: self.oauth.token(request)))
        router.add("POST", "/v2/oauth2/tokens/revoke", self._locked(lambda request: self.oauth.revoke(request)))
        router.add("GET", "/connect/oauth2", self._locked(lambda request: self.oauth.authorize(request)))
        router.add("GET", "/op/v1/jwks", lambda request: Response.json({"keys": []}))
        router.add("GET", "/_sandbox/requests", lambda request: Response.json(self._requests_snapshot()))
        router.add("POST", "/_sandbox/reset", self._control_reset)
        router.add("GET", "/_sandbox/clock", self._control_clock)
        router.add("POST", "/_sandbox/clock", self._control_clock)
        router.add("POST", "/_sandbox/faults", self._control_faults)
        router.add("POST", "/_sandbox/throttle", self._control_throttle)
        router.add("POST", "/_sandbox/webhooks", self._control_webhooks)
        router.add("POST", "/_sandbox/webhooks/deliver", self._control_webhook_delivery)
        router.add("GET", "/_sandbox/webhooks", self._control_webhook_log)
        router.add("POST", "/_sandbox/edit/{entity}/{id}", self._control_edit)
        router.add("POST", "/_sandbox/corrupt/{entity}/{id}", self._control_corrupt)
        router.add("POST", "/_sandbox/books/from-seed", self._control_books_from_seed)
        router.add("POST", "/_sandbox/requestids/expire", self._control_expire_requestids)
        return router

    def _locked(self, handler):
        def wrapped(request: Request) -> Response:
            with self._lock:
                response = handler(request)
            response.headers.setdefault("intuit_tid", self._next_tid())
            return response

        return wrapped

    def _vendor(self, handler):
        """Wraps a vendor handler: auth, realm, throttle, injected faults, requestid replay, Fault bodies, log."""

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
            if self.throttle is not None and not self.throttle.admit(
                self.realm_id, self.now(), batch=request.path.endswith("/batch")
            ):
                raise faults.throttled()
            if self._pending_faults:
                raise self._injected_fault(self._pending_faults.pop(0))
            body = {**handler(request), "time": format_response_time(self.now())}
            return Response.json(body, headers={"intuit_tid": self._next_tid()})
        except Fault as fault:
            return self._fault_response(fault)

    def _authorize(self, request: Request) -> None:
        self.oauth.check_access(request.headers.get("authorization", ""))
        if request.params.get("realm") != self.realm_id:
            raise faults.realm_not_authorized(request.params.get("realm", ""))

    @staticmethod
    def _injected_fault(status: int) -> Fault:
        if status == 429:
            return faults.throttled()
        return faults.system_failure(status)

    def _not_found(self, request: Request) -> Response:
        response = self._fault_response(faults.unsupported_operation(f"{request.method} {request.path}"))
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
        if operation is None:
            operation = "update" if "Id" in payload else "create"
        return {entity: self._perform(entity, operation, payload)}

    def _perform(self, entity: str, operation: str, payload: dict) -> dict:
        """One create, update or delete, shared by the entity endpoints and batch items."""
        if operation == "delete":
            if entity not in DELETABLE:  # name-list entries go inactive instead (sparse update Active=false)
                raise faults.unsupported_operation(f"delete {entity}")
            return self.company.delete(entity, payload)
        if operation == "update":
            if entity not in UPDATABLE:
                raise faults.unsupported_operation(f"update {entity}")
            return self.company.update(entity, payload)
        if operation == "create":
            if entity not in WRITABLE:
                raise faults.unsupported_operation(f"create {entity}")
            if "Id" in payload:
                raise faults.unsupported_property("Id")
            return self.company.create(entity, payload)
        raise faults.unsupported_operation(f"{operation} {entity}")

    def _cdc(self, request: Request) -> dict:
        return change_data_capture(self.company, request.arg("entities") or "", request.arg("changedSince") or "",
                                   self.now())

    def _batch(self, request: Request) -> dict:
        items = self._payload(request).get("BatchItemRequest")
        if not isinstance(items, list) or not items:
            raise faults.required_missing("BatchItemRequest")
        if len(items) > MAX_BATCH_ITEMS:
            raise faults.batch_too_large(len(items), MAX_BATCH_ITEMS)
        answers = []
        for item in items:
            bid = item.get("bId") if isinstance(item, dict) else None
            try:
                answers.append({"bId": bid, **self._batch_item(item)})
            except Fault as fault:  # one item's fault never stops the others
                answers.append({"bId": bid, "Fault": fault.body("")["Fault"]})
        return {"BatchItemResponse": answers}

    def _batch_item(self, item: object) -> dict:
        if not isinstance(item, dict) or not item.get("bId"):
            raise faults.required_missing("bId")
        if "Query" in item:
            return {"QueryResponse": self.company.query(str(item["Query"]))}
        if "optionsData" in item:
            raise faults.unsupported_operation(f"{item.get('operation')} with optionsData {item['optionsData']}")
        named = [key for key in item if key in _ENTITY_BY_PATH.values()]
        if len(named) != 1 or not isinstance(item[named[0]], dict):
            raise faults.unsupported_property("BatchItemRequest")
        entity = named[0]
        operation = item.get("operation")
        if operation is None:
            raise faults.required_missing("operation")
        return {entity: self._perform(entity, str(operation), item[entity])}

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
        self.webhooks.clear()
        return Response.json({"reset": True})

    def _control_expire_requestids(self, request: Request) -> Response:
        """Every requestid seen so far is past QuickBooks' replay window: repeating one is a new request, so a
        client that re-sends a create after that window must have looked the record up first."""
        with self._lock:
            expired = len(self._replays)
            self._replays = {}
        return Response.json({"expired": expired})

    def _control_clock(self, request: Request) -> Response:
        """GET: {"now": unix seconds}. POST {"advance_seconds": n}: move the sandbox clock forward; record
        times, token expiry, CDC's 30-day window and the throttle windows all follow it."""
        with self._lock:
            if request.method == "POST":
                seconds = Decimal(str(request.json().get("advance_seconds", 0)))
                if seconds < 0:
                    return Response.json({"error": "the clock only moves forward"}, 400)
                self._clock_offset += timedelta(seconds=int(seconds))
            now = self.now()
            return Response.json({"now": int(now.timestamp()), "iso": now.isoformat()})

    def _control_faults(self, request: Request) -> Response:
        """{"status": 429|500|503, "times": n}: the next n vendor requests fail that way."""
        body = request.json()
        status, times = int(body.get("status", 500)), int(body.get("times", 1))
        if status not in _INJECTABLE_STATUSES:
            return Response.json({"error": f"status must be one of {sorted(_INJECTABLE_STATUSES)}"}, 400)
        with self._lock:
            self._pending_faults.extend([status] * times)
            return Response.json({"pending": list(self._pending_faults)})

    def _control_throttle(self, request: Request) -> Response:
        """{"per_minute", "per_second", "batch_per_minute"} (defaults: QuickBooks' 500, 10, 40) turns throttling
        on with those limits; {"enabled": false} turns it off."""
        body = request.json()
        with self._lock:
            if body.get("enabled") is False:
                self.throttle = None
                return Response.json({"enabled": False})
            self.throttle = Throttle(**{key: int(body[key]) for key in ("per_minute", "per_second",
                                                                        "batch_per_minute") if key in body})
            return Response.json({"enabled": True, "per_minute": self.throttle.per_minute,
                                  "per_second": self.throttle.per_second,
                                  "batch_per_minute": self.throttle.batch_per_minute})

    def _control_webhooks(self, request: Request) -> Response:
        """Register an endpoint as the developer portal would: {"url": ..., "entities": ["Invoice", ...]?}."""
        body = request.json()
        url, entities = body.get("url"), body.get("entities")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return Response.json({"error": "url must be an http(s) URL"}, 400)
        unknown = sorted(set(entities or []) - set(ENTITIES))
        if unknown:
            return Response.json({"error": f"unknown entities {unknown}"}, 400)
        self.webhooks.register(url, entities)
        return Response.json({"url": url, "entities": entities, "verifier_token": self.verifier_token})

    def _control_webhook_delivery(self, request: Request) -> Response:
        """Deliver whatever is pending now, without waiting for the aggregation window."""
        return Response.json([vars(delivery) for delivery in self.webhooks.deliver()])

    def _control_webhook_log(self, request: Request) -> Response:
        return Response.json([vars(delivery) for delivery in list(self.webhooks.deliveries)])

    def _control_books_from_seed(self, request: Request) -> Response:
        """Fill the company as a finished first sync would: a Customer per seeded account, an Invoice per
        seeded invoice (benchmarks and scale tests; far faster than creating them through the API)."""
        with self._lock:
            return Response.json({"added": prefill_books(self.company, self.seed)})

    def _control_edit(self, request: Request) -> Response:
        """Plant drift: change a record as a bookkeeper would in the QuickBooks UI (no SyncToken needed)."""
        entity = _ENTITY_BY_PATH.get(request.params["entity"].lower())
        if entity not in UPDATABLE:
            return Response.json({"error": f"only {', '.join(UPDATABLE)} can be edited"}, 400)
        with self._lock:
            try:
                record = self.company.edit(entity, request.params["id"], request.json())
            except Fault as fault:
                return Response.json(fault.body(format_response_time(self.now())), fault.status)
            return Response.json({entity: record})

    def _control_corrupt(self, request: Request) -> Response:
        """Plant bad vendor data: from now on reads of the record show these properties instead (null drops
        one), past every rule of a write, as a faulty QuickBooks would send them. Its LastUpdatedTime moves, so
        an incremental read meets it too; queries still select on the record as kept."""
        entity = _ENTITY_BY_PATH.get(request.params["entity"].lower())
        changes = request.json()
        if entity is None or not isinstance(changes, dict):
            return Response.json({"error": "POST a JSON object of properties to /_sandbox/corrupt/{entity}/{id}"},
                                 400)
        with self._lock:
            try:
                return Response.json({entity: self.company.corrupt(entity, request.params["id"], changes)})
            except Fault as fault:
                return Response.json(fault.body(format_response_time(self.now())), fault.status)
