"""Handlers for events (type, types[], wildcards; 30 days kept), webhook endpoints and billing meter
events."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit

from sandboxes.stripe import catalog_objects
from sandboxes.stripe.errors import StripeApiError, invalid_param, missing_param
from sandboxes.stripe.events import type_matches
from sandboxes.stripe.listing import list_endpoint
from sandboxes.stripe.money import require
from sandboxes.stripe.params import merge_metadata, optional_int, optional_str, reject_unknown, required_str
from sandboxes.stripe.state import SECONDS_PER_DAY, StripeState

Body = dict[str, Any]
Path = dict[str, str]
METER_EVENT_PAST_LIMIT = 35 * SECONDS_PER_DAY  # Stripe accepts meter events up to 35 days old
METER_EVENT_FUTURE_LIMIT = 5 * 60


def list_events(state: StripeState, params: Body, _: Path, now: int) -> Body:
    state.event_log.prune(now)
    wanted_type = optional_str(params, "type")
    raw_types = params.get("types")
    types = raw_types if isinstance(raw_types, list) else ([raw_types] if raw_types else [])
    if wanted_type and types:
        raise invalid_param("types", "You may only specify one of these parameters: type, types.")
    patterns = types or ([wanted_type] if wanted_type else [])
    chosen = [event for event in state.event_log.events.values()
              if not patterns or any(type_matches(pattern, event["type"]) for pattern in patterns)]
    return list_endpoint(chosen, params, "/v1/events", "event", extra=("type", "types", "delivery_success"))


def retrieve_event(state: StripeState, _: Body, path: Path, now: int) -> Body:
    state.event_log.prune(now)
    return require(state.event_log.events, "event", path["id"])


# -- webhook endpoints -------------------------------------------------------------------------------


def _enabled_events(params: Body) -> list[str]:
    raw = params.get("enabled_events")
    events = raw if isinstance(raw, list) else ([raw] if isinstance(raw, str) and raw else [])
    if not events:
        raise missing_param("enabled_events")
    return events


def _url(params: Body) -> str:
    url = required_str(params, "url")
    if urlsplit(url).scheme not in ("http", "https"):
        raise invalid_param("url", f"Invalid URL: {url}. URLs must begin with http:// or https://", "url_invalid")
    return url


def _public(endpoint: Body) -> Body:
    return {key: value for key, value in endpoint.items() if key != "secret"}


def create_webhook_endpoint(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, {"url", "enabled_events", "description", "metadata", "api_version", "connect"})
    endpoint = catalog_objects.new_webhook_endpoint(
        state.ids.new("we_"), now, url=_url(params), enabled_events=_enabled_events(params),
        description=optional_str(params, "description"), metadata=merge_metadata({}, params),
        api_version=optional_str(params, "api_version"), secret="whsec_" + state.ids.new("", 32),
    )
    state.webhook_endpoints[endpoint["id"]] = endpoint
    return copy.deepcopy(endpoint)  # the only response that shows the signing secret


def retrieve_webhook_endpoint(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return _public(require(state.webhook_endpoints, "webhook_endpoint", path["id"]))


def update_webhook_endpoint(state: StripeState, params: Body, path: Path, _: int) -> Body:
    reject_unknown(params, {"url", "enabled_events", "description", "metadata", "disabled"})
    endpoint = require(state.webhook_endpoints, "webhook_endpoint", path["id"])
    if "url" in params:
        endpoint["url"] = _url(params)
    if "enabled_events" in params:
        endpoint["enabled_events"] = _enabled_events(params)
    if "description" in params:
        endpoint["description"] = optional_str(params, "description") or None
    if "disabled" in params:
        endpoint["status"] = "disabled" if params["disabled"] == "true" else "enabled"
    endpoint["metadata"] = merge_metadata(endpoint["metadata"], params)
    return _public(endpoint)


def delete_webhook_endpoint(state: StripeState, _: Body, path: Path, __: int) -> Body:
    endpoint = require(state.webhook_endpoints, "webhook_endpoint", path["id"])
    del state.webhook_endpoints[endpoint["id"]]
    return {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}


def list_webhook_endpoints(state: StripeState, params: Body, _: Path, __: int) -> Body:
    page = list_endpoint(state.webhook_endpoints.values(), params, "/v1/webhook_endpoints", "webhook_endpoint",
                         ranges=())
    page["data"] = [_public(endpoint) for endpoint in page["data"]]
    return page


# -- billing meter events ------------------------------------------------------------------------------


def create_meter_event(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, {"event_name", "payload", "identifier", "timestamp"})
    event_name = required_str(params, "event_name")
    payload = params.get("payload")
    if not isinstance(payload, dict):
        raise missing_param("payload")
    if not payload.get("stripe_customer_id"):
        raise missing_param("payload[stripe_customer_id]")
    value = payload.get("value")
    if value is None or not str(value).lstrip("-").isdigit():
        raise invalid_param("payload[value]", "The value must be a whole number.")
    timestamp = optional_int(params, "timestamp")
    timestamp = now if timestamp is None else timestamp
    if timestamp < now - METER_EVENT_PAST_LIMIT or timestamp > now + METER_EVENT_FUTURE_LIMIT:
        raise invalid_param("timestamp", "Timestamp must be within the past 35 days and no more than 5 minutes in "
                            "the future.")
    identifier = optional_str(params, "identifier") or state.ids.new("", 24)
    if identifier in state.meter_events:
        raise StripeApiError(400, f"An event already exists with identifier {identifier}.",
                             code="duplicate_meter_event", param="identifier")
    event = catalog_objects.new_meter_event(event_name=event_name, identifier=identifier,
                                            payload={key: str(val) for key, val in payload.items()},
                                            timestamp=timestamp, now=now)
    state.meter_events[identifier] = event
    return event


ROUTES = [
    ("GET", "/v1/events", list_events), ("GET", "/v1/events/{id}", retrieve_event),
    ("POST", "/v1/webhook_endpoints", create_webhook_endpoint),
    ("GET", "/v1/webhook_endpoints", list_webhook_endpoints),
    ("GET", "/v1/webhook_endpoints/{id}", retrieve_webhook_endpoint),
    ("POST", "/v1/webhook_endpoints/{id}", update_webhook_endpoint),
    ("DELETE", "/v1/webhook_endpoints/{id}", delete_webhook_endpoint),
    ("POST", "/v1/billing/meter_events", create_meter_event),
]
