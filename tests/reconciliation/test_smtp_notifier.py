"""SmtpNotifier against real local SMTP servers (aiosmtpd): plain, STARTTLS with login, implicit TLS."""

from __future__ import annotations

import email
import json
import logging
import socket
import ssl
from email.message import EmailMessage
from email.policy import default as default_policy
from urllib.parse import quote

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mappings.canonical import Mismatch
from reconciliation.notifiers import SmtpNotifier, build_alert, deliver

USER = "alerts"
PASSWORD = "s3cr:et@p/w"  # characters that must be percent-encoded in the URL
MISMATCHES = [
    Mismatch("invoice", "amount", "in_1AMT", {"stripe": "in_1AMT", "quickbooks": "145"}, "total", "686.00 USD",
             "668.00 USD"),
    Mismatch("invoice", "amount", "in_2AMT", {"stripe": "in_2AMT", "quickbooks": "146"}, "total", "1234 JPY",
             "1233 JPY"),
]


class RecordingHandler:
    """Stores every message the server accepts, with its envelope."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and (
        auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: let aiosmtpd send the 535 reply


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def client_context(ca) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture(scope="module")
def server_context(ca) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def _start(**smtp_options) -> tuple[Controller, RecordingHandler]:
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), **smtp_options)
    controller.start()
    return controller, handler


@pytest.fixture(scope="module")
def plain_server():
    controller, handler = _start()
    yield controller, handler
    controller.stop()


@pytest.fixture(scope="module")
def starttls_server(server_context):
    controller, handler = _start(
        tls_context=server_context, require_starttls=True, auth_required=True, authenticator=_authenticate
    )
    yield controller, handler
    controller.stop()


@pytest.fixture(scope="module")
def smtps_server(server_context):
    controller, handler = _start(ssl_context=server_context)
    yield controller, handler
    controller.stop()


def test_plain_smtp_sends_subject_recipients_and_ids(plain_server):
    """Input: smtp:// URL with two `to` addresses and a `from`, alert for two amount mismatches."""
    controller, handler = plain_server
    handler.received.clear()
    url = f"smtp://127.0.0.1:{controller.port}/?to=finance@example.com,cfo@example.com&from=concord@example.com"
    notifier = SmtpNotifier(url)
    notifier.send(build_alert("amount_matches", MISMATCHES))

    [(mail_from, rcpt_tos, message)] = handler.received
    assert mail_from == "concord@example.com"
    assert rcpt_tos == ["finance@example.com", "cfo@example.com"]
    assert message["Subject"] == "Concord drift: 2 invoice mismatches (amount_matches)"
    assert message["To"] == "finance@example.com, cfo@example.com"
    body = message.get_body(preferencelist=("plain",)).get_content()
    for expected in ("in_1AMT", "145", "in_2AMT", "146", "686.00 USD", "668.00 USD"):
        assert expected in body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "mismatches.json"
    details = json.loads(attachment.get_content())
    assert [d["ids"]["stripe"] for d in details] == ["in_1AMT", "in_2AMT"]


def test_starttls_with_login_decodes_the_password_and_never_shows_it(starttls_server, client_context, caplog):
    """Input: smtp+starttls:// URL with a percent-encoded password, server requiring STARTTLS and AUTH."""
    controller, handler = starttls_server
    handler.received.clear()
    url = f"smtp+starttls://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{controller.port}/?to=finance@example.com"
    notifier = SmtpNotifier(url, ssl_context=client_context)
    with caplog.at_level(logging.DEBUG):
        notifier.send(build_alert("amount_matches", MISMATCHES[:1]))

    [(mail_from, rcpt_tos, message)] = handler.received
    assert mail_from == "concord@localhost"
    assert rcpt_tos == ["finance@example.com"]
    assert message["Subject"] == "Concord drift: 1 invoice mismatch (amount_matches)"
    assert PASSWORD not in repr(notifier) and quote(PASSWORD, safe="") not in repr(notifier)
    assert PASSWORD not in caplog.text


def test_wrong_password_fails_delivery_without_logging_the_password(starttls_server, client_context, caplog):
    """Input: the STARTTLS server with a wrong password -> deliver() names 'email' as failed; no secret logged."""
    controller, handler = starttls_server
    handler.received.clear()
    url = f"smtp+starttls://{USER}:wrong-{quote(PASSWORD, safe='')}@127.0.0.1:{controller.port}/?to=f@example.com"
    with caplog.at_level(logging.DEBUG):
        failed = deliver(build_alert("amount_matches", MISMATCHES), [SmtpNotifier(url, ssl_context=client_context)])
    assert failed == ["email"]
    assert handler.received == []
    assert "SMTPAuthenticationError" in caplog.text
    assert PASSWORD not in caplog.text


def test_starttls_refuses_an_untrusted_certificate(starttls_server):
    """Input: STARTTLS to a server whose CA the client does not trust -> ssl.SSLCertVerificationError."""
    controller, _ = starttls_server
    url = f"smtp+starttls://{USER}:x@127.0.0.1:{controller.port}/?to=f@example.com"
    with pytest.raises(ssl.SSLCertVerificationError):
        SmtpNotifier(url, ssl_context=ssl.create_default_context()).send(build_alert("amount_matches", MISMATCHES))


def test_smtps_implicit_tls(smtps_server, client_context):
    """Input: smtps:// URL against an implicit-TLS server; recipients given as an argument override `to`."""
    controller, handler = smtps_server
    handler.received.clear()
    url = f"smtps://127.0.0.1:{controller.port}/?to=ignored@example.com"
    notifier = SmtpNotifier(url, sender="ops@example.com", recipients=["books@example.com"], ssl_context=client_context)
    notifier.send(build_alert("status_matches", MISMATCHES[1:]))
    [(mail_from, rcpt_tos, message)] = handler.received
    assert (mail_from, rcpt_tos) == ("ops@example.com", ["books@example.com"])
    assert "in_2AMT" in message.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1/?to=a@example.com", "scheme"),
        ("smtp:///?to=a@example.com", "no host"),
        ("smtp://127.0.0.1:25/", "no recipients"),
    ],
)
def test_bad_smtp_urls_are_refused_at_construction(url, problem):
    """Input: a wrong scheme, a missing host, no `to` -> ValueError saying which."""
    with pytest.raises(ValueError, match=problem):
        SmtpNotifier(url)


def test_default_ports_per_scheme():
    """Input: the three schemes without ports -> 25, 465, 587."""
    assert SmtpNotifier("smtp://mail.example.com/?to=a@example.com").port == 25
    assert SmtpNotifier("smtps://mail.example.com/?to=a@example.com").port == 465
    assert SmtpNotifier("smtp+starttls://mail.example.com/?to=a@example.com").port == 587
