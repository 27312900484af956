"""WebhookNotifier against a real local HTTP(S) server that records POST bodies and scripts its replies."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from mappings.canonical import Mismatch
from reconciliation.notifiers import WebhookDeliveryError, WebhookNotifier, build_alert

TOKEN = "T000SECRET/B000/XyZtoken"  # Slack-style: the path is the credential
MISMATCHES = [
    Mismatch("invoice", "missing_in_quickbooks", "in_9MISS", {"stripe": "in_9MISS", "quickbooks": None}, None,
             "10.00 USD", None),
]
FAST = {"backoff_seconds": 0.01}


class ScriptedServer(ThreadingHTTPServer):
    """Replies to each path with the next status of its script (the last one repeats)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.scripts: dict[str, list[int]] = {}
        self.posts: dict[str, list[dict]] = defaultdict(list)
        self.lock = threading.Lock()

    def next_status(self, path: str) -> int:
        with self.lock:
            script = self.scripts.get(path, [200])
            return script.pop(0) if len(script) > 1 else script[0]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.posts[self.path].append(
                {"content_type": self.headers.get("Content-Type"), "json": json.loads(body)}
            )
        status = self.server.next_status(self.path)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args) -> None:  # keep test output quiet
        pass


def _serve(server: ScriptedServer):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def server():
    scripted = ScriptedServer()
    _serve(scripted)
    yield scripted
    scripted.shutdown()
    scripted.server_close()


def test_posts_the_alert_as_json(server):
    """Input: a 200 endpoint and an alert for one missing invoice -> one POST with the five keys."""
    alert = build_alert("missing_in_quickbooks", MISMATCHES)
    WebhookNotifier(f"{server.base}/hooks/ok", **FAST).send(alert)
    [post] = server.posts["/hooks/ok"]
    assert post["content_type"] == "application/json"
    assert set(post["json"]) == {"title", "body", "check", "count", "details"}
    assert post["json"]["check"] == "missing_in_quickbooks"
    assert post["json"]["count"] == 1
    assert post["json"]["details"][0]["ids"] == {"stripe": "in_9MISS", "quickbooks": None}
    assert "in_9MISS" in post["json"]["body"]


def test_retries_a_500_then_succeeds(server):
    """Input: an endpoint that answers 500 once and then 200 -> two POSTs, no error."""
    server.scripts["/hooks/flaky"] = [500, 200]
    WebhookNotifier(f"{server.base}/hooks/flaky", **FAST).send(build_alert("amount_matches", MISMATCHES))
    assert len(server.posts["/hooks/flaky"]) == 2


def test_permanent_500_raises_after_three_attempts_without_showing_the_token(server):
    """Input: an endpoint that always answers 500, with a secret token in its path -> error after 3 POSTs."""
    path = f"/services/{TOKEN}"
    server.scripts[path] = [500]
    notifier = WebhookNotifier(f"{server.base}{path}", **FAST)
    with pytest.raises(WebhookDeliveryError) as error:
        notifier.send(build_alert("amount_matches", MISMATCHES))
    assert error.value.status_code == 500
    assert len(server.posts[path]) == 3
    assert "SECRET" not in str(error.value) and "SECRET" not in repr(notifier)


def test_client_error_is_not_retried(server):
    """Input: an endpoint that answers 404 -> WebhookDeliveryError after exactly one POST."""
    server.scripts["/hooks/gone"] = [404]
    with pytest.raises(WebhookDeliveryError, match="HTTP 404"):
        WebhookNotifier(f"{server.base}/hooks/gone", **FAST).send(build_alert("amount_matches", MISMATCHES))
    assert len(server.posts["/hooks/gone"]) == 1


def test_unreachable_endpoint_raises_after_retries():
    """Input: a port with nothing listening -> WebhookDeliveryError naming the connection failure."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(WebhookDeliveryError, match="unreachable: ConnectError"):
        WebhookNotifier(f"http://127.0.0.1:{port}/hooks/x", **FAST).send(build_alert("amount_matches", MISMATCHES))


def test_https_endpoint_with_a_private_ca():
    """Input: an HTTPS endpoint whose certificate comes from a local CA the client is told to trust."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    tls_server = ScriptedServer()
    tls_server.socket = server_context.wrap_socket(tls_server.socket, server_side=True)
    _serve(tls_server)
    try:
        url = f"https://127.0.0.1:{tls_server.server_address[1]}/hooks/tls"
        WebhookNotifier(url, verify=client_context, **FAST).send(build_alert("amount_matches", MISMATCHES))
        assert len(tls_server.posts["/hooks/tls"]) == 1
        with pytest.raises(WebhookDeliveryError, match="unreachable"):
            WebhookNotifier(url, verify=ssl.create_default_context(), attempts=1).send(
                build_alert("amount_matches", MISMATCHES)
            )
    finally:
        tls_server.shutdown()
        tls_server.server_close()


def test_non_http_url_is_refused():
    """Input: an ftp:// URL -> ValueError at construction."""
    with pytest.raises(ValueError, match="http"):
        WebhookNotifier("ftp://example.com/hook")
