"""Stripe events: one per mutation, with `data.previous_attributes` on updates, kept 30 days.

The log also tells listeners (the webhook dispatcher) about each new event, after the request
that caused it has finished changing state.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandboxes.stripe import objects

RETENTION_SECONDS = 30 * 86_400
_MISSING = object()


def previous_attributes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The old values of what changed, nested like Stripe's (metadata gives only the changed keys)."""
    changed: dict[str, Any] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and old.get("object") != "list":
            changed[key] = previous_attributes(old, new)
        else:
            changed[key] = None if old is _MISSING else copy.deepcopy(old)
    return changed


@dataclass
class RequestContext:
    """Which API request is running, so events name it (`request.id`, `request.idempotency_key`)."""

    request_id: str | None = None
    idempotency_key: str | None = None


class EventLog:
    def __init__(self, ids: Callable[[], str]) -> None:
        self._new_id = ids
        self.events: dict[str, dict[str, Any]] = {}
        self.context = RequestContext()
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._pending: list[dict[str, Any]] = []

    def emit(self, event_type: str, data_object: dict[str, Any], now: int,
             previous: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(data_object)}
        if previous:
            data["previous_attributes"] = previous
        event = {
            "id": self._new_id(),
            "object": "event",
            "api_version": objects.API_VERSION,
            "created": now,
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": self.context.request_id, "idempotency_key": self.context.idempotency_key},
            "type": event_type,
        }
        self.events[event["id"]] = event
        self._pending.append(event)
        return event

    def publish(self) -> None:
        """Hand the events of the finished request to the listeners (webhook delivery)."""
        pending, self._pending = self._pending, []
        for event in pending:
            for listener in self.listeners:
                listener(event)

    def prune(self, now: int) -> None:
        cutoff = now - RETENTION_SECONDS
        for event_id in [eid for eid, event in self.events.items() if event["created"] < cutoff]:
            del self.events[event_id]

    def clear(self) -> None:
        self.events.clear()
        self._pending.clear()


def type_matches(pattern: str, event_type: str) -> bool:
    """`invoice.*` matches invoice.paid and invoice.payment_failed; `*` matches everything."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type
