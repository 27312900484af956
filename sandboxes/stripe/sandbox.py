"""StripeSandbox: the Stripe HTTP API (v1 customers, invoices, invoice items) on 127.0.0.1.

Vendor paths (/v1/...) need `Authorization: Bearer <the sandbox's sk_test_ key>` and answer with
Stripe's bodies, `Request-Id` headers and idempotent replays. The control API under /_sandbox/
needs no auth and exists only here: request log, reset, raw inserts, injected faults.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandboxes.http import CONTROL_PREFIX, Request, Response, Router, SandboxServer, ServedSandbox, dumps
from sandboxes.seed import SeedData
from sandboxes.stripe import api, objects
from sandboxes.stripe.errors import StripeApiError
from sandboxes.stripe.forms import decode_form, decode_query
from sandboxes.stripe.idempotency import MAX_KEY_LENGTH, IdempotencyStore, StoredResult, fingerprint
from sandboxes.stripe.state import StripeState
from sandboxes.tls import LocalCA


@dataclass
class Fault:
    """An injected failure: the next `count` vendor requests matching method/path get `status`."""

    status: int
    count: int = 1
    method: str | None = None
    path: str | None = None  # a prefix, e.g. /v1/customers

    def matches(self, request: Request) -> bool:
        return (
            self.count > 0
            and (self.method is None or self.method.upper() == request.method)
            and (self.path is None or request.path.startswith(self.path))
        )

    def error(self) -> StripeApiError:
        if self.status == 429:
            return StripeApiError(429, "Too many requests hit the API too quickly.", type="invalid_request_error",
                                  code="rate_limit", replayable=False)
        return StripeApiError(self.status, "An unknown error occurred (injected by the sandbox).", type="api_error",
                              replayable=False)


def _flat_query(query: dict[str, list[str]]) -> dict[str, Any]:
    return {key: values[0] if len(values) == 1 else values for key, values in query.items()}


def _masked(key: str) -> str:
    return f"{key[:8]}{'*' * max(len(key) - 12, 4)}{key[-4:]}" if len(key) > 12 else "****"


class StripeSandbox(ServedSandbox):
    def __init__(self, seed: SeedData, tls: LocalCA | None = None, port: int = 0) -> None:
        self.state = StripeState(seed)
        self.api_key = objects.stable_id("sk_test_51", "concord-stripe-sandbox", seed.seed, length=40)
        self.clock: Callable[[], float] = time.time
        self._idempotency = IdempotencyStore()
        self._requests: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._server = SandboxServer("stripe", self._router(), tls, port, not_found=self._unrecognized)

    def credentials(self) -> dict[str, str]:
        return {"STRIPE_API_KEY": self.api_key, "STRIPE_API_BASE": self.base_url}

    # -- routing -------------------------------------------------------------------------------

    def _router(self) -> Router:
        router = Router()
        for method, pattern, handler in api.ROUTES:
            router.add(method, pattern, self._vendor(handler))
        control = {
            ("GET", "/requests"): self._control_requests,
            ("POST", "/reset"): self._control_reset,
            ("POST", "/objects"): self._control_plant,
            ("POST", "/faults"): self._control_fault,
            ("POST", "/idempotency/expire"): self._control_expire_keys,
        }
        for (method, path), handler in control.items():
            router.add(method, CONTROL_PREFIX + path, self._locked(handler))
        return router

    def _locked(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            with self.state.lock:
                return handler(request)

        return run

    def _vendor(self, handler: api.Handler) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            with self.state.lock:
                return self._serve_vendor(request, handler)

        return run

    def _unrecognized(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return Response.json({"error": f"no control endpoint {request.method} {request.path}"}, 404)

        def unrecognized(*_: Any) -> dict[str, Any]:
            raise StripeApiError(404, f"Unrecognized request URL ({request.method}: {request.path}). Please see "
                                 "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                                 replayable=False)

        with self.state.lock:
            return self._serve_vendor(request, unrecognized)

    # -- the vendor request pipeline -------------------------------------------------------------

    def _serve_vendor(self, request: Request, handler: api.Handler) -> Response:
        # Not from the seeded id factory: object ids must not depend on how many reads came first.
        request_id = "req_" + uuid.uuid4().hex[:14]
        idempotency_key = request.headers.get("idempotency-key") if request.method == "POST" else None
        entry: dict[str, Any] = {
            "method": request.method, "path": request.path, "query": _flat_query(request.query),
            "idempotency_key": idempotency_key, "request_id": request_id, "replayed": False,
        }
        response = self._answer(request, handler, request_id, idempotency_key, entry)
        response.headers["Request-Id"] = request_id
        response.headers["Stripe-Version"] = request.headers.get("stripe-version", objects.API_VERSION)
        entry["status"] = response.status
        self._requests.append(entry)
        return response

    def _answer(self, request: Request, handler: api.Handler, request_id: str, key: str | None,
                entry: dict[str, Any]) -> Response:
        try:
            self._authenticate(request)
            fault = next((fault for fault in self._faults if fault.matches(request)), None)
            if fault is not None:
                fault.count -= 1
                entry["fault"] = True
                raise fault.error()
            params = decode_form(request.body) if request.method == "POST" else decode_query(request.query)
        except StripeApiError as error:
            return Response.json(error.body(request_id), error.status)
        if key is None:
            return self._execute(handler, params, request, request_id)[0]
        return self._idempotent(handler, params, request, request_id, key, entry)

    def _idempotent(self, handler: api.Handler, params: dict[str, Any], request: Request, request_id: str,
                    key: str, entry: dict[str, Any]) -> Response:
        if len(key) > MAX_KEY_LENGTH:
            error = StripeApiError(400, f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.",
                                   type="idempotency_error")
            return Response.json(error.body(request_id), 400)
        now = self.clock()
        request_print = fingerprint(request.method, request.path, params)
        stored = self._idempotency.lookup(key, now)
        if stored is not None:
            if stored.fingerprint != request_print:
                error = StripeApiError(
                    400, "Keys for idempotent requests can only be used with the same parameters they were first "
                    f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
                    type="idempotency_error",
                )
                return Response.json(error.body(request_id), 400)
            entry["replayed"] = True
            return Response(stored.status, stored.body, {"Content-Type": "application/json",
                                                         "Idempotent-Replayed": "true",
                                                         "Original-Request": stored.request_id})
        response, replayable = self._execute(handler, params, request, request_id)
        if replayable:
            self._idempotency.store(key, StoredResult(request_print, response.status, response.body, request_id, now))
        return response

    def _execute(self, handler: api.Handler, params: dict[str, Any], request: Request,
                 request_id: str) -> tuple[Response, bool]:
        try:
            body = handler(self.state, params, request.params, int(self.clock()))
        except StripeApiError as error:
            return Response.json(error.body(request_id), error.status), error.replayable
        return Response.json(body), True

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not header:
            raise StripeApiError(401, "You did not provide an API key. You need to provide your API key in the "
                                 "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                                 "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details.")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.api_key:
            raise StripeApiError(401, f"Invalid API Key provided: {_masked(token.strip())}")

    # -- control API ---------------------------------------------------------------------------

    def _control_requests(self, _: Request) -> Response:
        return Response.json(self._requests)

    def _control_reset(self, _: Request) -> Response:
        self.state.reset()
        self._idempotency.clear()
        self._requests.clear()
        self._faults.clear()
        return Response.json({"reset": True})

    def _control_plant(self, request: Request) -> Response:
        try:
            raw = json.loads(request.body or b"{}")  # ints stay ints; Stripe has no decimal amounts here
            planted = self.state.plant(raw)
        except StripeApiError as error:
            return Response.json(error.body("req_control"), error.status)
        return Response(200, dumps(planted), {"Content-Type": "application/json"})

    def _control_fault(self, request: Request) -> Response:
        spec = json.loads(request.body or b"{}")
        fault = Fault(status=int(spec["status"]), count=int(spec.get("count", 1)), method=spec.get("method"),
                      path=spec.get("path"))
        self._faults.append(fault)
        return Response.json({"status": fault.status, "count": fault.count, "method": fault.method,
                              "path": fault.path})

    def _control_expire_keys(self, _: Request) -> Response:
        return Response.json({"expired": self._idempotency.expire_all()})
