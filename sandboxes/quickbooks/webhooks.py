"""Webhook notifications in Intuit's CloudEvents form, signed with `intuit-signature`.

QuickBooks registers endpoints in the developer portal, so here they come through the control API
(`POST /_sandbox/webhooks` {"url", "entities"?}). Each change becomes one CloudEvent
(`type` "qbo.<entity>.<created|updated|deleted>.v1", `intuitentityid`, `intuitaccountid` = realm);
events collect for a short aggregation window and go out together as one JSON array per endpoint,
signed with base64(HMAC-SHA256(body, verifier token)). An endpoint that does not answer 2xx gets the
same body again on the next delivery round (Intuit retries too), up to `MAX_ATTEMPTS`.

Under a fault profile (sandboxes/faults.py) a notification may be sent twice (same body, same signature:
Intuit delivers at least once) or held back and sent right after the next notification to that endpoint
(or on the following round when no other comes), so receivers must dedupe by event id and never trust order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandboxes.faults import FaultInjector

log = logging.getLogger("concord.sandbox")

MAX_ATTEMPTS = 5
OPERATIONS = {"Create": "created", "Update": "updated", "Delete": "deleted"}


def sign(body: bytes, verifier_token: str) -> str:
    return base64.b64encode(hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()).decode()


@dataclass
class Endpoint:
    url: str
    entities: frozenset[str] | None  # None: every entity
    pending: list[dict] = field(default_factory=list)
    attempts: int = 0
    held: list[dict] = field(default_factory=list)  # a notification the reorder fault holds back


@dataclass
class Delivery:
    url: str
    events: int
    status: int | None
    error: str | None = None
    fault: str | None = None  # "duplicate", "held" or "reordered" when a fault profile shaped this delivery


class WebhookHub:
    def __init__(self, realm_id: str, verifier_token: str, app_source: str, ca_file: str | None = None,
                 window_seconds: float = 0.2, faults: Callable[[], FaultInjector | None] = lambda: None) -> None:
        self.realm_id = realm_id
        self.verifier_token = verifier_token
        self.source = "intuit." + base64.b64encode(hashlib.sha256(app_source.encode()).digest()).decode()
        self.window_seconds = window_seconds
        self._faults = faults
        self.endpoints: list[Endpoint] = []
        self.deliveries: list[Delivery] = []
        self._counter = 0
        self.retry_seconds = 1.0
        self._lock = threading.Lock()
        self._delivering = threading.Lock()  # the worker and a control-API flush never send the same events twice
        self._wake = threading.Event()
        self._context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        self._worker: threading.Thread | None = None
        self._stopped = False

    def register(self, url: str, entities: list[str] | None) -> None:
        with self._lock:
            self.endpoints.append(Endpoint(url, frozenset(entities) if entities else None))
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="quickbooks-webhooks", daemon=True)
                self._worker.start()

    def clear(self) -> None:
        with self._lock:
            self.endpoints.clear()
            self.deliveries.clear()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def record(self, entity: str, record_id: str, operation: str, time: str) -> None:
        """A company change listener: queue one CloudEvent for every endpoint that wants this entity."""
        with self._lock:
            if not self.endpoints:
                return
            self._counter += 1
            digest = hashlib.sha256(f"{self.source}:{self._counter}".encode()).hexdigest()
            event = {
                "specversion": "1.0",
                "id": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
                "source": self.source,
                "type": f"qbo.{entity.lower()}.{OPERATIONS[operation]}.v1",
                "datacontenttype": "application/json",
                "time": datetime.fromisoformat(time).astimezone(UTC).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "intuitentityid": record_id,
                "intuitaccountid": self.realm_id,
                "data": {},
            }
            for endpoint in self.endpoints:
                if endpoint.entities is None or entity in endpoint.entities:
                    endpoint.pending.append(event)
        self._wake.set()

    def deliver(self) -> list[Delivery]:
        """One delivery round: POST each endpoint's pending events now; failures stay pending."""
        with self._delivering:
            return self._deliver_round()

    def _deliver_round(self) -> list[Delivery]:
        with self._lock:
            batches = [(endpoint, list(endpoint.pending)) for endpoint in self.endpoints
                       if endpoint.pending or endpoint.held]
        results = []
        injector = self._faults()
        for endpoint, events in batches:
            if events and not endpoint.held and endpoint.attempts == 0 and injector and injector.reorder_webhook():
                with self._lock:  # held back: it goes out after the next notification instead of now
                    endpoint.held = events
                    del endpoint.pending[: len(events)]
                    held = Delivery(endpoint.url, len(events), None, "held back by the reorder fault", "held")
                    self.deliveries.append(held)
                results.append(held)
                continue
            if events:
                results.extend(self._send_pending(endpoint, events, injector))
            if endpoint.held:
                held_events, endpoint.held = endpoint.held, []
                result = self._post(endpoint.url, self._encode(held_events), len(held_events))
                result.fault = "reordered"
                with self._lock:
                    if result.status is None or not 200 <= result.status < 300:
                        endpoint.pending[:0] = held_events  # a failed late delivery is retried like any other
                    self.deliveries.append(result)
                results.append(result)
        return results

    def _send_pending(self, endpoint: Endpoint, events: list[dict], injector: FaultInjector | None) -> list[Delivery]:
        body = self._encode(events)
        result = self._post(endpoint.url, body, len(events))
        results = [result]
        with self._lock:
            endpoint.attempts += 1
            if result.status is not None and 200 <= result.status < 300 or endpoint.attempts >= MAX_ATTEMPTS:
                del endpoint.pending[: len(events)]
                endpoint.attempts = 0
            self.deliveries.append(result)
        if result.status is not None and 200 <= result.status < 300 and injector and injector.duplicate_webhook():
            duplicate = self._post(endpoint.url, body, len(events))  # byte for byte: the signature verifies again
            duplicate.fault = "duplicate"
            with self._lock:
                self.deliveries.append(duplicate)
            results.append(duplicate)
        return results

    @staticmethod
    def _encode(events: list[dict]) -> bytes:
        return json.dumps(events, separators=(",", ":")).encode("utf-8")

    def _post(self, url: str, body: bytes, count: int) -> Delivery:
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "intuit-signature": sign(body, self.verifier_token),
            "User-Agent": "Intuit-Webhooks",
        })
        try:
            context = self._context if url.startswith("https:") else None
            with urllib.request.urlopen(request, timeout=5, context=context) as response:  # noqa: S310 (registered URL)
                return Delivery(url, count, response.status)
        except urllib.error.HTTPError as error:
            return Delivery(url, count, error.code, str(error))
        except (urllib.error.URLError, OSError) as error:
            return Delivery(url, count, None, str(error))

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait()
            self._wake.clear()
            if self._stopped:
                return
            threading.Event().wait(self.window_seconds)  # let a burst of changes arrive as one notification
            try:
                self.deliver()
            except Exception:  # a delivery bug must not kill the worker
                log.exception("QuickBooks webhook delivery failed")
            with self._lock:
                retry = any(endpoint.pending or endpoint.held for endpoint in self.endpoints)
            if retry:
                threading.Event().wait(self.retry_seconds)
                self._wake.set()
