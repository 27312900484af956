"""Alerts, the console and log notifiers, build_notifiers, and deliver() fan-out with a failing channel."""

from __future__ import annotations

import io
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mappings.canonical import Mismatch
from reconciliation.notifiers import (
    Alert,
    ConsoleNotifier,
    LogNotifier,
    Notifier,
    SmtpNotifier,
    WebhookNotifier,
    build_alert,
    build_notifiers,
    deliver,
    notifiers_from_env,
)

MISMATCHES = [
    Mismatch("invoice", "status", "in_5ST", {"stripe": "in_5ST", "quickbooks": "31"}, "status", "paid", "open"),
    Mismatch("invoice", "status", "in_4ST", {"stripe": "in_4ST", "quickbooks": "30"}, "status", "void", "open"),
]


class RecordingNotifier:
    name = "recorder"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


def test_build_alert_orders_details_and_counts():
    """Input: two status mismatches given out of key order -> title with count, details sorted by key."""
    alert = build_alert("status_matches", MISMATCHES)
    assert alert.title == "Concord drift: 2 invoice mismatches (status_matches)"
    assert (alert.check, alert.count) == ("status_matches", 2)
    assert [d["ids"]["stripe"] for d in alert.details] == ["in_4ST", "in_5ST"]
    assert alert.body.index("in_4ST") < alert.body.index("in_5ST")
    assert alert.as_payload()["details"] == alert.details


def test_console_notifier_prints_a_readable_block():
    """Input: an alert and a StringIO stream -> title, check, count and ids printed."""
    stream = io.StringIO()
    ConsoleNotifier(stream=stream).send(build_alert("status_matches", MISMATCHES))
    printed = stream.getvalue()
    assert "Concord drift: 2 invoice mismatches (status_matches)" in printed
    assert "check: status_matches" in printed and "count: 2" in printed
    assert "in_4ST" in printed and "in_5ST" in printed


def test_console_notifier_defaults_to_current_stdout(capsys):
    """Input: ConsoleNotifier() built without a stream -> writes to the sys.stdout pytest captures."""
    ConsoleNotifier().send(build_alert("status_matches", MISMATCHES))
    assert "in_5ST" in capsys.readouterr().out


def test_log_notifier_logs_at_warning(caplog):
    """Input: an alert through LogNotifier -> one WARNING record on concord.alerts holding the ids."""
    with caplog.at_level(logging.WARNING, logger="concord.alerts"):
        LogNotifier().send(build_alert("status_matches", MISMATCHES))
    [record] = [r for r in caplog.records if r.name == "concord.alerts"]
    assert record.levelno == logging.WARNING
    assert "in_4ST" in record.getMessage()


def test_build_notifiers_adds_email_and_webhook_only_when_configured(monkeypatch):
    """Input: no URLs, blank URLs, then both URLs (also via environment variables)."""
    assert [n.name for n in build_notifiers(None, None)] == ["console", "log"]
    assert [n.name for n in build_notifiers("  ", "")] == ["console", "log"]
    both = build_notifiers("smtp://mail.example.com/?to=finance@example.com", "https://hooks.example.com/x")
    assert [n.name for n in both] == ["console", "log", "email", "webhook"]
    assert isinstance(both[2], SmtpNotifier) and isinstance(both[3], WebhookNotifier)
    assert all(isinstance(n, Notifier) for n in both)
    monkeypatch.setenv("CONCORD_ALERT_WEBHOOK_URL", "https://hooks.example.com/y")
    monkeypatch.delenv("CONCORD_ALERT_SMTP_URL", raising=False)
    assert [n.name for n in notifiers_from_env()] == ["console", "log", "webhook"]


@pytest.fixture
def failing_webhook_url():
    """A real HTTP server that answers every POST with 503."""

    class Unavailable(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_deliver_continues_past_failing_notifiers(failing_webhook_url, caplog):
    """Input: [recorder, webhook answering 503, SMTP to a closed port, recorder] -> both recorders get it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    first, last = RecordingNotifier(), RecordingNotifier()
    notifiers = [
        first,
        WebhookNotifier(failing_webhook_url, attempts=2, backoff_seconds=0.01),
        SmtpNotifier(f"smtp://127.0.0.1:{closed_port}/?to=finance@example.com", timeout=2),
        last,
    ]
    alert = build_alert("status_matches", MISMATCHES)
    with caplog.at_level(logging.ERROR, logger="concord.notifiers"):
        failed = deliver(alert, notifiers)
    assert failed == ["webhook", "email"]
    assert first.alerts == [alert] and last.alerts == [alert]
    assert "HTTP 503" in caplog.text
    assert "ConnectionRefusedError" in caplog.text


def test_deliver_returns_nothing_when_all_succeed():
    """Input: two recording notifiers -> empty failure list, both received the alert."""
    notifiers = [RecordingNotifier(), RecordingNotifier()]
    assert deliver(build_alert("status_matches", MISMATCHES), notifiers) == []
    assert all(len(n.alerts) == 1 for n in notifiers)
