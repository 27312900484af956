"""End-to-end fixtures: real sandboxes on loopback, Concord configured only through the environment."""

from __future__ import annotations

import json
import ssl
import urllib.request

import pytest
from dagster import instance_for_test

from sandboxes.internal_sample import build_internal_sample, sample_url
from sandboxes.runner import start_sandboxes
from sandboxes.seed import build_seed
from store.hub import Hub


@pytest.fixture
def sandboxes(tmp_path):
    # Vendor rate limits off: these tests are about the data path; limits have their own tests.
    running = start_sandboxes(seed=42, state_dir=tmp_path / "sandbox", vendor_limits=False)
    yield running
    running.stop()


@pytest.fixture
def concord_env(monkeypatch, sandboxes, db_url, tmp_path):
    """Point every Concord setting at the sandboxes and the test's hub database."""
    for name, value in sandboxes.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONCORD_DATABASE_URL", db_url)
    internal_url = sample_url(tmp_path)
    build_internal_sample(internal_url, build_seed(42))
    monkeypatch.setenv("CONCORD_INTERNAL_DB_URL", internal_url)
    for name in ("STRIPE_API_BASE", "CONCORD_ALERT_SMTP_URL", "CONCORD_ALERT_WEBHOOK_URL"):
        monkeypatch.setenv(name, sandboxes.environment().get(name, ""))
    # The vendors' published limits would make each sync here take ~10 s; the limiter itself is
    # tested on its own (tests/connectors/test_rate_limit.py) and through a resource below.
    monkeypatch.setenv("CONCORD_STRIPE_RATE_LIMIT", "1000/s")
    monkeypatch.setenv("CONCORD_QUICKBOOKS_RATE_LIMIT", "1000/s")
    monkeypatch.setenv("CONCORD_RATE_LIMIT_DIR", str(tmp_path / "ratelimits"))
    return sandboxes.environment()


@pytest.fixture
def dagster_instance():
    with instance_for_test() as instance:
        yield instance


@pytest.fixture
def hub(concord_env, db_url):
    store = Hub(db_url)
    store.migrate()
    return store


def control(sandboxes, system: str, path: str, payload=None, method: str | None = None):
    """Call a sandbox's control API (/_sandbox/...) over HTTPS, trusting the sandbox CA."""
    context = ssl.create_default_context(cafile=str(sandboxes.tls.bundle_path))
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        sandboxes.base_url(system) + path, data=data, method=method or ("POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _SmtpServer:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
                from email import message_from_bytes

                message = message_from_bytes(envelope.content)
                message.rcpt_tos = list(envelope.rcpt_tos)
                outer.messages.append(message)
                return "250 OK"

        port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{port}/?to=finance@example.com&from=concord@example.com"

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""
    server = _SmtpServer()
    yield server
    server.stop()
