"""Telling people about drift: console, log, email (SMTP) and webhook notifiers, and fan-out delivery.

Every notifier takes the same `Alert`. `deliver` sends to all of them and keeps going when one
fails, because a broken mail relay must not also silence the webhook. Secrets never leave this
module: SMTP passwords and webhook URLs (Slack-style URLs carry their token in the path) are
redacted in reprs, logs and error messages.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol, TextIO, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from mappings.canonical import Mismatch
from reconciliation.invoices import sort_mismatches
from reconciliation.report import mismatch_records, render_text

log = logging.getLogger("concord.notifiers")

SMTP_URL_ENV = "CONCORD_ALERT_SMTP_URL"
WEBHOOK_URL_ENV = "CONCORD_ALERT_WEBHOOK_URL"
CA_BUNDLE_ENV = "CONCORD_CA_BUNDLE"  # extra trusted roots (the sandbox CA), as in sandboxes/tls.py


@dataclass(frozen=True)
class Alert:
    title: str
    body: str
    check: str
    count: int
    details: list[dict] = field(default_factory=list)

    def as_payload(self) -> dict:
        """The webhook body: exactly these five keys."""
        return {
            "title": self.title,
            "body": self.body,
            "check": self.check,
            "count": self.count,
            "details": self.details,
        }


def build_alert(check: str, mismatches: Iterable[Mismatch], entity: str = "invoice") -> Alert:
    """An alert for one failed check: the text table as body, one JSON record per mismatch as details."""
    ordered = sort_mismatches(mismatches)
    noun = "mismatch" if len(ordered) == 1 else "mismatches"
    title = f"Concord drift: {len(ordered)} {entity} {noun} ({check})"
    body = render_text(ordered)
    return Alert(title=title, body=body, check=check, count=len(ordered), details=mismatch_records(ordered))


@runtime_checkable
class Notifier(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


class ConsoleNotifier:
    """Prints a readable block; `stream` defaults to whatever sys.stdout is at send time."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, alert: Alert) -> None:
        stream = self._stream or sys.stdout
        rule = "=" * min(max(len(alert.title), 20), 100)
        stream.write(f"{rule}\n{alert.title}\ncheck: {alert.check}   count: {alert.count}\n{rule}\n{alert.body}\n")
        stream.flush()


class LogNotifier:
    """Logs the alert at WARNING, so any log shipper already watching Concord sees drift."""

    name = "log"

    def __init__(self, logger_name: str = "concord.alerts") -> None:
        self._logger = logging.getLogger(logger_name)

    def send(self, alert: Alert) -> None:
        self._logger.warning("%s [check=%s count=%d]\n%s", alert.title, alert.check, alert.count, alert.body)


class SmtpNotifier:
    """Email over SMTP, configured by one URL.

    `smtp://user:pass@host:port/?to=a@x.com,b@x.com&from=concord@x.com`; `smtps://` is implicit TLS
    (port 465), `smtp+starttls://` upgrades a plain connection (port 587). Explicit `sender` and
    `recipients` arguments win over the URL's `from` and `to`.
    """

    name = "email"
    _DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}

    def __init__(
        self,
        url: str,
        sender: str | None = None,
        recipients: list[str] | None = None,
        *,
        timeout: float = 30,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in self._DEFAULT_PORTS:
            raise ValueError(f"SMTP URL scheme must be one of {sorted(self._DEFAULT_PORTS)}, got {scheme!r}")
        if not parts.hostname:
            raise ValueError("SMTP URL has no host")
        query = parse_qs(parts.query)
        self.scheme = scheme
        self.host = parts.hostname
        self.port = parts.port or self._DEFAULT_PORTS[scheme]
        self.username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self.sender = sender or _first(query.get("from")) or "concord@localhost"
        self.recipients = recipients or _split_addresses(query.get("to", []))
        if not self.recipients:
            raise ValueError("SMTP URL has no recipients: add ?to=finance@example.com")
        self.timeout = timeout
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"SmtpNotifier({self.scheme}://{user}{self.host}:{self.port}, to={self.recipients})"

    def build_message(self, alert: Alert) -> EmailMessage:
        message = EmailMessage()
        # Header values must be one line; vendor text inside a title must not inject headers.
        message["Subject"] = " ".join(alert.title.split())
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="concord.local")
        message.set_content(f"{alert.body}\nCheck: {alert.check}\nMismatches: {alert.count}\n")
        if alert.details:
            attachment = json.dumps(alert.details, indent=2, sort_keys=True).encode("utf-8")
            message.add_attachment(attachment, maintype="application", subtype="json", filename="mismatches.json")
        return message

    def send(self, alert: Alert) -> None:
        message = self.build_message(alert)
        with self._connect() as client:
            if self.username:
                client.login(self.username, self._password or "")
            client.send_message(message, from_addr=self.sender, to_addrs=self.recipients)
        log.info("alert %r emailed to %d recipient(s) via %r", alert.check, len(self.recipients), self)

    def _connect(self) -> smtplib.SMTP:
        context = self._ssl_context or _tls_context()
        if self.scheme == "smtps":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.scheme == "smtp+starttls":
            try:
                client.starttls(context=context)
            except BaseException:
                client.close()
                raise
        return client


class WebhookDeliveryError(RuntimeError):
    """The webhook refused the alert or could not be reached; the message names no secret URL part."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class WebhookNotifier:
    """POSTs the alert as JSON; retries connection errors, 429 and 5xx with exponential backoff."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        timeout: float = 10,
        *,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
        verify: ssl.SSLContext | bool | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("webhook URL must be http(s)://host/...")
        self._url = url
        self.target = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"  # path may hold a token
        self.timeout = timeout
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self._verify = verify

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.target})"

    def send(self, alert: Alert) -> None:
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff_seconds, max=self.backoff_seconds * 8),
            retry=retry_if_exception(_worth_retrying),
            before_sleep=self._log_retry,
            reraise=True,
        )
        verify = self._verify if self._verify is not None else _tls_context()
        with httpx.Client(timeout=self.timeout, verify=verify) as client:
            try:
                retrying(self._post_once, client, alert.as_payload())
            except httpx.TransportError as exc:
                raise WebhookDeliveryError(f"webhook {self.target} unreachable: {type(exc).__name__}: {exc}") from exc

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("webhook %s attempt %d failed (%s); retrying", self.target, state.attempt_number, error)

    def _post_once(self, client: httpx.Client, payload: dict) -> None:
        response = client.post(self._url, json=payload)
        if not response.is_success:
            raise WebhookDeliveryError(
                f"webhook {self.target} answered HTTP {response.status_code}", status_code=response.status_code
            )


def _worth_retrying(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, WebhookDeliveryError) and exc.status_code is not None:
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def build_notifiers(smtp_url: str | None, webhook_url: str | None) -> list[Notifier]:
    """Console and log always; email and webhook when their URL is set (blank counts as unset)."""
    notifiers: list[Notifier] = [ConsoleNotifier(), LogNotifier()]
    if smtp_url and smtp_url.strip():
        notifiers.append(SmtpNotifier(smtp_url.strip()))
    if webhook_url and webhook_url.strip():
        notifiers.append(WebhookNotifier(webhook_url.strip()))
    return notifiers


def notifiers_from_env() -> list[Notifier]:
    """build_notifiers from CONCORD_ALERT_SMTP_URL and CONCORD_ALERT_WEBHOOK_URL."""
    return build_notifiers(os.environ.get(SMTP_URL_ENV), os.environ.get(WEBHOOK_URL_ENV))


def deliver(alert: Alert, notifiers: Iterable[Notifier]) -> list[str]:
    """Send to every notifier; returns the names of those that failed (each failure is logged)."""
    failed: list[str] = []
    for notifier in notifiers:
        name = getattr(notifier, "name", type(notifier).__name__)
        try:
            notifier.send(alert)
        except Exception as exc:  # one broken channel must not silence the others
            log.error("notifier %s failed for check %r: %s: %s", name, alert.check, type(exc).__name__, exc)
            failed.append(name)
    return failed


def _tls_context() -> ssl.SSLContext:
    bundle = os.environ.get(CA_BUNDLE_ENV)
    return ssl.create_default_context(cafile=bundle) if bundle else ssl.create_default_context()


def _first(values: list[str] | None) -> str | None:
    return values[0].strip() if values and values[0].strip() else None


def _split_addresses(values: list[str]) -> list[str]:
    return [address.strip() for value in values for address in value.split(",") if address.strip()]
