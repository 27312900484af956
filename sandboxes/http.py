"""A small threaded HTTPS server with a router, shared by the vendor sandboxes.

Each sandbox registers handlers for the vendor's paths (and, under /_sandbox/, a control API that
no vendor has: planting drift, reading the request log). Handlers take a `Request` and return a
`Response`; the server does the socket and TLS work.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from sandboxes.faults import (
    DROP,
    EXPIRED_TOKEN,
    RATE_LIMIT,
    SERVER_ERROR,
    TRUNCATE,
    FaultInjector,
    FaultProfile,
    profile_named,
)
from sandboxes.tls import LocalCA

log = logging.getLogger("concord.sandbox")

CONTROL_PREFIX = "/_sandbox"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        # Decimals, never floats: QuickBooks money arrives as JSON numbers.
        return json.loads(self.body or b"{}", parse_float=Decimal)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def text(self) -> str:
        return self.body.decode("utf-8")


_DECIMAL_MARK = "\u2063dec:"  # an invisible separator no vendor value carries
_DECIMAL_TOKEN = re.compile('"' + _DECIMAL_MARK + r'(-?[0-9.Ee+-]+)"')


def _mark_decimals(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _DECIMAL_MARK + str(value)
    if isinstance(value, dict):
        return {key: _mark_decimals(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark_decimals(item) for item in value]
    return value


def dumps(payload: Any) -> bytes:
    """JSON with Decimals written as exact numbers (never via float), UTF-8 as vendors send it."""
    text = json.dumps(_mark_decimals(payload), ensure_ascii=False)
    return _DECIMAL_TOKEN.sub(lambda match: match.group(1), text).encode("utf-8")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
        return cls(status=status, body=dumps(payload), headers=merged)


Handler = Callable[[Request], Response]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """`pattern` uses {name} for one path segment, e.g. /v1/customers/{id}."""
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
        self._routes.append((method.upper(), re.compile(regex), handler))

    def route(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for route_method, regex, handler in self._routes:
            match = regex.match(path)
            if match and route_method == method:
                return handler, match.groupdict()
        return None


class SandboxServer:
    """Serves one router over HTTPS on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        name: str,
        router: Router,
        tls: LocalCA | None,
        port: int = 0,
        not_found: Callable[[Request], Response] | None = None,
    ) -> None:
        self.name = name
        self.router = router
        self.not_found = not_found or (lambda req: Response.json({"error": "not found"}, 404))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.server_context().wrap_socket(self._httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread: threading.Thread | None = None
        # Set by ServedSandbox.inject_faults; None means the vendor on a good day.
        self.faults: FaultInjector | None = None
        self.fault_response: Callable[[str, Request], Response] = _generic_fault_response

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"sandbox-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def is_vendor_path(self, path: str) -> bool:
        return not path.startswith(CONTROL_PREFIX)

    def injected_response(self, request: Request) -> Response | None:
        """The vendor's error for an injected fault, sent instead of processing the request."""
        if self.faults is None or not self.is_vendor_path(request.path):
            return None
        kind, retry_after = self.faults.decide(request.method)
        if not kind:
            return None
        response = self.fault_response(kind, request)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)  # the body stays the vendor's own
        return response

    def response_fate(self, request: Request) -> str | None:
        """After processing: drop the connection, truncate the body, or (None) answer normally."""
        if self.faults is None or not self.is_vendor_path(request.path):
            return None
        return self.faults.after(request.method)

    def dispatch(self, request: Request) -> Response:
        found = self.router.route(request.method, request.path)
        if found is None:
            return self.not_found(request)
        handler, params = found
        request.params = params
        return handler(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without this each response waits ~40 ms
            # for the client's delayed ACK (Nagle), which makes every test and benchmark crawl.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                fate = None
                try:
                    response = server.injected_response(request)
                    if response is None:
                        response = server.dispatch(request)
                        fate = server.response_fate(request)
                except Exception:  # a sandbox bug must still answer, like a vendor's 500
                    log.exception("%s sandbox failed on %s %s", server.name, self.command, split.path)
                    response = Response.json({"error": "sandbox internal error"}, 500)
                if fate == DROP:
                    # The write is committed; the client never hears so. Only a retry with the same
                    # idempotency key, or a lookup before creating again, avoids a duplicate.
                    self.close_connection = True
                    return
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if fate == TRUNCATE:
                    self.wfile.write(response.body[: len(response.body) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(response.body)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("%s sandbox: " + format, server.name, *args)

        return _Handler


def _generic_fault_response(kind: str, request: Request) -> Response:
    status = {RATE_LIMIT: 429, SERVER_ERROR: 503, EXPIRED_TOKEN: 401}[kind]
    return Response.json({"error": kind}, status)


class ServedSandbox:
    """The lifecycle every vendor sandbox shares; a subclass sets `self._server` in __init__.

    A subclass overrides `fault_response` to render injected faults as its vendor does.
    """

    _server: SandboxServer

    def fault_response(self, kind: str, request: Request) -> Response:
        return _generic_fault_response(kind, request)

    def inject_faults(self, profile: str | FaultProfile | None, seed: int) -> FaultInjector | None:
        """Apply a fault profile (by name) from now on; "none" or None switches faults off."""
        chosen = profile_named(profile)
        injector = None if chosen.name == "none" else FaultInjector(chosen, seed)
        self._server.faults = injector
        self._server.fault_response = self.fault_response
        return injector

    @property
    def fault_injector(self) -> FaultInjector | None:
        return self._server.faults

    def start(self) -> Self:
        self._server.router.add("GET", CONTROL_PREFIX + "/fault-profile", self._control_get_fault_profile)
        self._server.router.add("POST", CONTROL_PREFIX + "/fault-profile", self._control_set_fault_profile)
        self._server.start()
        return self

    def _control_get_fault_profile(self, request: Request) -> Response:
        injector = self._server.faults
        return Response.json(injector.report() if injector else {"profile": "none", "injected": {}})

    def _control_set_fault_profile(self, request: Request) -> Response:
        body = request.json()
        try:
            injector = self.inject_faults(body.get("profile"), int(body.get("seed", 0)))
        except ValueError as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json(injector.report() if injector else {"profile": "none", "injected": {}})

    def stop(self) -> None:
        self._server.stop()

    @property
    def base_url(self) -> str:
        return self._server.base_url
