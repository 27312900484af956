"""Webhook delivery: each event goes to every enabled endpoint that subscribes to its type, signed
with `Stripe-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "t.payload")>`, from a background thread,
and is retried with backoff until the endpoint answers 2xx (or the attempts run out).

The signature timestamp is wall time, not the sandbox clock: receivers check it against their own
clock (stripe.Webhook.construct_event allows 300 s), and a sandbox clock moved a month ahead must
not make every delivery look forged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandboxes.faults import FaultInjector
from sandboxes.http import dumps
from sandboxes.stripe.events import type_matches

log = logging.getLogger("concord.sandbox.stripe.webhooks")
DEFAULT_RETRY_DELAYS = (0.5, 2.0, 8.0, 30.0)  # seconds of wall time; Stripe spreads its retries over 3 days
# A delivery held back by the reorder fault waits this long, so the next event (usually from the same
# request or the client's next call) overtakes it; if none comes, it still goes out.
REORDER_HOLD_SECONDS = 0.3


def signature_header(secret: str, payload: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(order=True)
class _Delivery:
    due: float
    sequence: int
    endpoint_id: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    attempt: int = field(default=0, compare=False)
    fault: str | None = field(default=None, compare=False)  # "duplicate" or "reordered", for the attempts log


class WebhookDispatcher:
    """Queues (event, endpoint) deliveries and sends them from one daemon thread."""

    def __init__(self, endpoints: Callable[[], dict[str, dict[str, Any]]], *, verify: Any = True,
                 retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS, timeout: float = 5.0,
                 faults: Callable[[], FaultInjector | None] = lambda: None) -> None:
        self._endpoints = endpoints
        self._faults = faults
        self._verify = verify
        self.retry_delays = retry_delays
        self._timeout = timeout
        self._queue: queue.PriorityQueue[_Delivery] = queue.PriorityQueue()
        self._sequence = 0
        self._lock = threading.Lock()
        self.attempts: list[dict[str, Any]] = []  # what was sent and how the endpoint answered
        self._pending_counts: dict[str, int] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stripe-webhooks", daemon=True)
        self._thread.start()

    def enqueue(self, event: dict[str, Any]) -> None:
        """Called under the state lock, right after the request that caused `event` finished."""
        for endpoint in self._endpoints().values():
            if endpoint["status"] != "enabled":
                continue
            if any(type_matches(pattern, event["type"]) for pattern in endpoint["enabled_events"]):
                event["pending_webhooks"] += 1
                self._schedule(endpoint["id"], event)

    def _schedule(self, endpoint_id: str, event: dict[str, Any]) -> None:
        """Queue one delivery, letting the active fault profile duplicate it or hold it back."""
        injector = self._faults()
        now = time.monotonic()
        if injector is not None and injector.reorder_webhook():
            self._push(_Delivery(now + REORDER_HOLD_SECONDS, self._next(), endpoint_id, event, fault="reordered"))
        else:
            self._push(_Delivery(now, self._next(), endpoint_id, event))
        if injector is not None and injector.duplicate_webhook():
            # Stripe's at-least-once delivery: the same event (same id, same body) arrives again.
            self._push(_Delivery(now, self._next(), endpoint_id, event, fault="duplicate"))

    def _next(self) -> int:
        with self._lock:
            self._sequence += 1
            return self._sequence

    def _push(self, delivery: _Delivery) -> None:
        self._queue.put(delivery)

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.01)
        return self.idle()

    def clear(self) -> None:
        self.attempts.clear()

    def stop(self) -> None:
        self._stopped.set()
        self._push(_Delivery(0.0, -1, "", {}))

    def _run(self) -> None:
        with httpx.Client(verify=self._verify, timeout=self._timeout) as client:
            while not self._stopped.is_set():
                delivery = self._queue.get()
                try:
                    if self._stopped.is_set():
                        return
                    wait = delivery.due - time.monotonic()
                    if wait > 0:  # not due yet: put it back and sleep a little (new ones may be due sooner)
                        self._queue.put(delivery)
                        time.sleep(min(wait, 0.05))
                        continue
                    self._deliver(client, delivery)
                finally:
                    self._queue.task_done()

    def _deliver(self, client: httpx.Client, delivery: _Delivery) -> None:
        endpoint = self._endpoints().get(delivery.endpoint_id)
        if endpoint is None:
            return
        payload = dumps(delivery.event)  # Decimals (tax percentages) stay exact
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                   "Stripe-Signature": signature_header(endpoint["secret"], payload, timestamp)}
        try:
            status = client.post(endpoint["url"], content=payload, headers=headers).status_code
        except httpx.HTTPError as error:
            log.debug("webhook %s to %s failed: %s", delivery.event["id"], endpoint["url"], error)
            status = None
        self.attempts.append({"event": delivery.event["id"], "type": delivery.event["type"],
                              "endpoint": endpoint["id"], "attempt": delivery.attempt + 1, "status": status,
                              "fault": delivery.fault})
        if status is not None and 200 <= status < 300:
            delivery.event["pending_webhooks"] = max(0, delivery.event["pending_webhooks"] - 1)
            return
        if delivery.attempt < len(self.retry_delays):
            delay = self.retry_delays[delivery.attempt]
            self._push(_Delivery(time.monotonic() + delay, self._next(), delivery.endpoint_id, delivery.event,
                                 delivery.attempt + 1))
