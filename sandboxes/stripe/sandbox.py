"""StripeSandbox: the Stripe HTTP API (v1) on 127.0.0.1.

Vendor paths (/v1/...) need `Authorization: Bearer <the sandbox's sk_test_ key>` and answer with
Stripe's bodies, `Request-Id` headers, idempotent replays, `expand[]`, the test-mode rate limit,
events for every mutation and signed webhooks. The control API under /_sandbox/ needs no auth and
exists only here: request log, reset, raw inserts, injected faults, the clock, the rate limit,
webhook delivery attempts.
"""

from __future__ import annotations

import gc
import json
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandboxes.http import CONTROL_PREFIX, Request, Response, Router, SandboxServer, ServedSandbox, dumps
from sandboxes.seed import SeedData
from sandboxes.stripe import (
    api,
    api_billing,
    api_catalog,
    api_events,
    api_meters,
    api_payments,
    billing,
    expand,
    objects,
    persistence,
    search,
)
from sandboxes.stripe.clock import SandboxClock
from sandboxes.stripe.errors import StripeApiError
from sandboxes.stripe.forms import decode_form, decode_query
from sandboxes.stripe.idempotency import MAX_KEY_LENGTH, IdempotencyStore, StoredResult, fingerprint
from sandboxes.stripe.ratelimit import TEST_MODE_PER_SECOND, RateLimiter
from sandboxes.stripe.state import StripeState
from sandboxes.stripe.webhooks import DEFAULT_RETRY_DELAYS, WebhookDispatcher
from sandboxes.tls import LocalCA

# Search routes first: /v1/customers/search must not match /v1/customers/{id}.
ROUTES = [*search.ROUTES, *api.ROUTES, *api_catalog.ROUTES, *api_billing.ROUTES, *api_payments.ROUTES,
          *api_events.ROUTES, *api_meters.ROUTES]
_FAULT_KINDS = {429: "rate_limit", 401: "expired_token"}
LARGE_SEED_ACCOUNTS = 1_200  # scale 100 and up


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

    @property
    def kind(self) -> str:
        return _FAULT_KINDS.get(self.status, "server_error")


def fault_error(kind: str, status: int = 500) -> StripeApiError:
    """The error Stripe really answers for an injected fault of `kind`."""
    if kind == "rate_limit":
        # Stripe's rate limiter answers 429 without Stripe-Should-Retry; SDKs retry 429s only for lock timeouts.
        return StripeApiError(429, "Request rate limit exceeded. Learn more about rate limits here "
                              "https://stripe.com/docs/rate-limits.", code="rate_limit", replayable=False)
    if kind == "expired_token":
        return StripeApiError(401, "Expired API Key provided: sk_test_*********************************expd. "
                              "Create a new API key at https://dashboard.stripe.com/apikeys.", code="api_key_expired",
                              replayable=False)
    if kind == "server_error":
        return StripeApiError(status if status >= 500 else 500, "An unknown error occurred", type="api_error",
                              replayable=False, headers={"Stripe-Should-Retry": "true"})
    raise ValueError(f"unknown fault kind {kind!r}: use rate_limit, server_error or expired_token")


def _flat_query(query: dict[str, list[str]]) -> dict[str, Any]:
    return {key: values[0] if len(values) == 1 else values for key, values in query.items()}


def _masked(key: str) -> str:
    return f"{key[:8]}{'*' * max(len(key) - 12, 4)}{key[-4:]}" if len(key) > 12 else "****"


def _error_response(error: StripeApiError, request_id: str) -> Response:
    return Response.json(error.body(request_id), error.status, headers=error.headers)


class StripeSandbox(ServedSandbox):
    def __init__(self, seed: SeedData, tls: LocalCA | None = None, port: int = 0, *,
                 rate_limit_per_second: float | None = TEST_MODE_PER_SECOND,
                 webhook_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS, history_months: int = 0) -> None:
        # history_months > 0: each seeded subscription also has its renewals of the months before the clock.
        self.state = StripeState(seed, history_months=history_months)
        if len(seed.accounts) >= LARGE_SEED_ACCOUNTS:
            # The seeded account lives as long as the sandbox: keep full collections from walking it each time.
            # (Only here, not in StripeState: a snapshot's throwaway baseline must stay collectable.)
            gc.freeze()
        self.api_key = objects.stable_id("sk_test_51", "concord-stripe-sandbox", seed.seed, length=40)
        self.clock = SandboxClock()
        self.rate_limiter = RateLimiter(rate_limit_per_second)
        self._idempotency = IdempotencyStore()
        self._requests: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        # Webhooks go to endpoints on the receiver's side; trust system roots plus our own CA.
        verify: Any = ssl.create_default_context(cafile=str(tls.bundle_path)) if tls is not None else True
        self.webhooks = WebhookDispatcher(lambda: self.state.webhook_endpoints, verify=verify,
                                          retry_delays=webhook_retry_delays, faults=lambda: self.fault_injector)
        self.state.event_log.listeners.append(self.webhooks.enqueue)
        self._server = SandboxServer("stripe", self._router(), tls, port, not_found=self._unrecognized)

    def credentials(self) -> dict[str, str]:
        return {"STRIPE_API_KEY": self.api_key, "STRIPE_API_BASE": self.base_url}

    def stop(self) -> None:
        self.webhooks.stop()
        super().stop()

    def fault_response(self, kind: str, request: Request) -> Response:
        """Stripe's real answer to an injected fault (`rate_limit`, `server_error`, `expired_token`)."""
        request_id = "req_" + uuid.uuid4().hex[:14]
        response = _error_response(fault_error(kind), request_id)
        response.headers["Request-Id"] = request_id
        response.headers["Stripe-Version"] = request.headers.get("stripe-version", objects.API_VERSION)
        return response

    def snapshot(self) -> dict[str, Any]:
        """The whole account as JSON-safe data (objects, events, id sequence, clock, idempotency keys)."""
        return persistence.snapshot(self)

    def restore(self, data: dict[str, Any]) -> None:
        """Replace the account with a `snapshot()` taken from a sandbox with the same seed."""
        persistence.restore(self, data)

    def advance_clock(self, seconds: float) -> int:
        """Move the sandbox clock and let everything due happen (renewals, payouts, pruning)."""
        now = self.clock.advance(seconds)
        with self.state.lock:
            self._tick(now)
        return now

    # -- routing -------------------------------------------------------------------------------

    def _router(self) -> Router:
        router = Router()
        for method, pattern, handler in ROUTES:
            router.add(method, pattern, self._vendor(handler))
        control = {
            ("GET", "/requests"): self._control_requests,
            ("POST", "/reset"): self._control_reset,
            ("POST", "/objects"): self._control_plant,
            ("POST", "/faults"): self._control_fault,
            ("POST", "/idempotency/expire"): self._control_expire_keys,
            ("GET", "/clock"): self._control_clock,
            ("POST", "/clock"): self._control_advance_clock,
            ("POST", "/rate_limit"): self._control_rate_limit,
            ("GET", "/webhooks/attempts"): self._control_webhook_attempts,
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

    def _tick(self, now: int) -> None:
        billing.tick(self.state, now)
        self._idempotency.prune(now)
        self.state.event_log.publish()

    def _serve_vendor(self, request: Request, handler: api.Handler) -> Response:
        # Not from the seeded id factory: object ids must not depend on how many reads came first.
        request_id = "req_" + uuid.uuid4().hex[:14]
        idempotency_key = request.headers.get("idempotency-key") if request.method == "POST" else None
        entry: dict[str, Any] = {
            "method": request.method, "path": request.path, "query": _flat_query(request.query),
            "idempotency_key": idempotency_key, "request_id": request_id, "replayed": False,
        }
        self._tick(self.clock.now())
        response = self._answer(request, handler, request_id, idempotency_key, entry)
        if request.method != "GET":
            self.state.next_cycle_at = 0  # a write may have added or moved a subscription period
        response.headers["Request-Id"] = request_id
        response.headers["Stripe-Version"] = request.headers.get("stripe-version", objects.API_VERSION)
        entry["status"] = response.status
        self._requests.append(entry)
        self.state.event_log.publish()
        return response

    def _answer(self, request: Request, handler: api.Handler, request_id: str, key: str | None,
                entry: dict[str, Any]) -> Response:
        try:
            self._authenticate(request)
            if not self.rate_limiter.allow(self.api_key, write=request.method != "GET"):
                entry["rate_limited"] = True
                raise fault_error("rate_limit")
            fault = next((fault for fault in self._faults if fault.matches(request)), None)
            if fault is not None:
                fault.count -= 1
                entry["fault"] = True
                raise fault_error(fault.kind, fault.status)
            params = decode_form(request.body) if request.method in ("POST", "DELETE") and request.body \
                else decode_query(request.query)
            expand.expand_paths(params)
        except StripeApiError as error:
            return _error_response(error, request_id)
        if key is None:
            return self._execute(handler, params, request, request_id, None)[0]
        return self._idempotent(handler, params, request, request_id, key, entry)

    def _idempotent(self, handler: api.Handler, params: dict[str, Any], request: Request, request_id: str,
                    key: str, entry: dict[str, Any]) -> Response:
        if len(key) > MAX_KEY_LENGTH:
            error = StripeApiError(400, f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.",
                                   type="idempotency_error")
            return _error_response(error, request_id)
        now = self.clock()
        request_print = fingerprint(request.method, request.path, params)
        stored = self._idempotency.lookup(key, now)
        if stored is not None:
            if stored.fingerprint != request_print:
                error = StripeApiError(
                    400, "Keys for idempotent requests can only be used with the same parameters they were first "
                    f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
                    type="idempotency_error", headers={"Stripe-Should-Retry": "false"},
                )
                return _error_response(error, request_id)
            entry["replayed"] = True
            return Response(stored.status, stored.body, {"Content-Type": "application/json",
                                                         "Idempotent-Replayed": "true",
                                                         "Original-Request": stored.request_id})
        response, replayable = self._execute(handler, params, request, request_id, key)
        if replayable:
            self._idempotency.store(key, StoredResult(request_print, response.status, response.body, request_id, now))
        return response

    def _execute(self, handler: api.Handler, params: dict[str, Any], request: Request, request_id: str,
                 key: str | None) -> tuple[Response, bool]:
        self.state.event_log.context.request_id = request_id
        self.state.event_log.context.idempotency_key = key
        try:
            body = handler(self.state, params, request.params, self.clock.now())
            body = expand.apply(self.state, body, expand.expand_paths(params))
        except StripeApiError as error:
            return _error_response(error, request_id), error.replayable
        finally:
            self.state.event_log.context.request_id = None
            self.state.event_log.context.idempotency_key = None
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
        self.webhooks.clear()
        self.clock.reset()
        self.rate_limiter.configure(self.rate_limiter.per_second)  # full buckets, same limit
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

    def _control_clock(self, _: Request) -> Response:
        return Response.json({"now": self.clock.now()})

    def _control_advance_clock(self, request: Request) -> Response:
        spec = json.loads(request.body or b"{}")
        try:
            seconds = float(spec["advance_seconds"])
            now = self.advance_clock(seconds)
        except (KeyError, TypeError, ValueError) as error:
            return Response.json({"error": f"expected {{\"advance_seconds\": N >= 0}}: {error}"}, 400)
        return Response.json({"now": now})

    def _control_rate_limit(self, request: Request) -> Response:
        spec = json.loads(request.body or b"{}")
        per_second = spec.get("per_second")
        self.rate_limiter.configure(None if per_second is None else float(per_second))
        return Response.json({"per_second": self.rate_limiter.per_second})

    def _control_webhook_attempts(self, _: Request) -> Response:
        return Response.json(self.webhooks.attempts)
