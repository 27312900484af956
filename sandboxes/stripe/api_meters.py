"""Billing meters and their event summaries: what a meter event counts towards, and how much a customer used.

A meter names the `event_name` it aggregates (unique among active meters), how (`default_aggregation.formula`:
sum, count or last) and which payload keys carry the customer and the value. Summaries aggregate the stored
meter events of one customer over [start_time, end_time) (minute-aligned), as one summary or one per hour or
day (`value_grouping_window`), newest first. Stripe aggregates asynchronously; the sandbox does it at once.
"""

from __future__ import annotations

from typing import Any

from sandboxes.stripe.errors import StripeApiError, invalid_param, missing_param
from sandboxes.stripe.money import require
from sandboxes.stripe.params import optional_int, optional_str, reject_unknown, required_str
from sandboxes.stripe.state import StripeState, newest_first, paginate

Body = dict[str, Any]
Path = dict[str, str]
FORMULAS = ("sum", "count", "last")
WINDOWS = {"hour": 3600, "day": 86_400}


def _sub(params: Body, name: str) -> Body:
    value = params.get(name) or {}
    if not isinstance(value, dict):
        raise invalid_param(name, f"Invalid object: {name}")
    return value


def create_meter(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, {"display_name", "event_name", "default_aggregation", "customer_mapping",
                            "value_settings", "event_time_window"})
    display_name, event_name = required_str(params, "display_name"), required_str(params, "event_name")
    formula = _sub(params, "default_aggregation").get("formula")
    if formula is None:
        raise missing_param("default_aggregation[formula]")
    if formula not in FORMULAS:
        raise invalid_param("default_aggregation[formula]", f"Invalid default_aggregation[formula]: must be one of "
                            f"{', '.join(FORMULAS)}")
    window = optional_str(params, "event_time_window")
    if window is not None and window not in WINDOWS:
        raise invalid_param("event_time_window", "Invalid event_time_window: must be one of day, hour")
    if any(meter["event_name"] == event_name and meter["status"] == "active" for meter in state.meters.values()):
        raise StripeApiError(400, f"An active meter with event_name {event_name} already exists.",
                             code="resource_already_exists", param="event_name")
    mapping, values = _sub(params, "customer_mapping"), _sub(params, "value_settings")
    meter = {
        "id": state.ids.new("mtr_"), "object": "billing.meter", "created": now, "display_name": display_name,
        "event_name": event_name, "event_time_window": window, "livemode": False, "status": "active",
        "customer_mapping": {"event_payload_key": mapping.get("event_payload_key") or "stripe_customer_id",
                             "type": mapping.get("type") or "by_id"},
        "default_aggregation": {"formula": formula},
        "status_transitions": {"deactivated_at": None}, "updated": now,
        "value_settings": {"event_payload_key": values.get("event_payload_key") or "value"},
    }
    state.meters[meter["id"]] = meter
    return meter


def retrieve_meter(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return require(state.meters, "billing.meter", path["id"])


def list_meters(state: StripeState, params: Body, _: Path, __: int) -> Body:
    reject_unknown(params, {"limit", "starting_after", "ending_before", "status"})
    status = optional_str(params, "status")
    meters = [meter for meter in state.meters.values() if status is None or meter["status"] == status]
    return paginate(newest_first(meters), params, "/v1/billing/meters", "billing.meter")


def _minute_aligned(params: Body, name: str) -> int:
    value = optional_int(params, name)
    if value is None:
        raise missing_param(name)
    if value % 60:
        raise invalid_param(name, f"{name} must be aligned with minute boundaries.")
    return value


def _aggregate(formula: str, events: list[Body], value_key: str) -> int:
    """Values are whole numbers (create_meter_event accepts no others), so the aggregate is an integer."""
    if formula == "count":
        return len(events)
    values = [int(event["payload"].get(value_key, "0")) for event in events]
    if formula == "last":
        return values[-1] if values else 0
    return sum(values)


def list_event_summaries(state: StripeState, params: Body, path: Path, _: int) -> Body:
    reject_unknown(params, {"customer", "start_time", "end_time", "value_grouping_window", "limit",
                            "starting_after", "ending_before"})
    meter = require(state.meters, "billing.meter", path["id"])
    customer = required_str(params, "customer")
    start, end = _minute_aligned(params, "start_time"), _minute_aligned(params, "end_time")
    if end <= start:
        raise invalid_param("end_time", "end_time must be after start_time.")
    window = optional_str(params, "value_grouping_window")
    if window is not None and window not in WINDOWS:
        raise invalid_param("value_grouping_window", "Invalid value_grouping_window: must be one of day, hour")
    customer_key = meter["customer_mapping"]["event_payload_key"]
    events = sorted((event for event in state.meter_events.values()
                     if event["event_name"] == meter["event_name"] and event["payload"].get(customer_key) == customer
                     and start <= event["timestamp"] < end), key=lambda event: event["timestamp"])
    step = WINDOWS[window] if window else end - start
    summaries = []
    for window_start in range(start - start % step if window else start, end, step):
        window_end = min(window_start + step, end)
        inside = [event for event in events if window_start <= event["timestamp"] < window_end]
        if window and not inside:
            continue  # grouped summaries only for windows with usage
        summaries.append({
            "id": f"mtrusg_{meter['id'][4:]}_{customer[4:]}_{window_start}_{window_end}",
            "object": "billing.meter_event_summary", "livemode": False, "meter": meter["id"],
            "aggregated_value": _aggregate(meter["default_aggregation"]["formula"], inside,
                                           meter["value_settings"]["event_payload_key"]),
            "start_time": max(window_start, start), "end_time": window_end,
        })
    summaries.reverse()  # newest first, as Stripe lists them
    return paginate(summaries, params, f"/v1/billing/meters/{meter['id']}/event_summaries",
                    "billing.meter_event_summary")


ROUTES = [
    ("POST", "/v1/billing/meters", create_meter),
    ("GET", "/v1/billing/meters", list_meters),
    ("GET", "/v1/billing/meters/{id}", retrieve_meter),
    ("GET", "/v1/billing/meters/{id}/event_summaries", list_event_summaries),
]
