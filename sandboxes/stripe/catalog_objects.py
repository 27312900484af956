"""Builders for catalog and billing objects (API 2026-10-28 shapes, keys of fixtures3.json):
product, price (and the legacy plan view of it), coupon, tax rate, subscription, subscription item,
invoice payment, billing meter event, webhook endpoint.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def new_product(product_id: str, now: int, *, name: str, description: str | None, active: bool,
                metadata: dict[str, str], unit_label: str | None, tax_code: str | None) -> dict[str, Any]:
    return {
        "id": product_id, "object": "product", "active": active, "created": now, "default_price": None,
        "description": description, "images": [], "livemode": False, "marketing_features": [],
        "metadata": metadata, "name": name, "package_dimensions": None, "shippable": None,
        "statement_descriptor": None, "tax_code": tax_code, "type": "service", "unit_label": unit_label,
        "updated": now, "url": None,
    }


def new_price(price_id: str, now: int, *, product: str, currency: str, unit_amount: int,
              recurring: dict[str, Any] | None, nickname: str | None, lookup_key: str | None,
              metadata: dict[str, str], active: bool = True, tax_behavior: str = "unspecified") -> dict[str, Any]:
    return {
        "id": price_id, "object": "price", "active": active, "billing_scheme": "per_unit", "created": now,
        "currency": currency, "custom_unit_amount": None, "livemode": False, "lookup_key": lookup_key,
        "metadata": metadata, "nickname": nickname, "product": product, "recurring": recurring,
        "tax_behavior": tax_behavior, "tiers_mode": None, "transform_quantity": None,
        "type": "recurring" if recurring else "one_time", "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def recurring(interval: str, interval_count: int, usage_type: str = "licensed") -> dict[str, Any]:
    return {"interval": interval, "interval_count": interval_count, "meter": None, "trial_period_days": None,
            "usage_type": usage_type}


def plan_from_price(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy `plan` view Stripe still puts on subscription items for recurring prices."""
    rec = price["recurring"] or recurring("month", 1)
    return {
        "id": price["id"], "object": "plan", "active": price["active"], "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"], "billing_scheme": price["billing_scheme"],
        "created": price["created"], "currency": price["currency"], "interval": rec["interval"],
        "interval_count": rec["interval_count"], "livemode": False, "metadata": price["metadata"],
        "meter": rec["meter"], "nickname": price["nickname"], "product": price["product"], "tiers_mode": None,
        "transform_usage": None, "trial_period_days": rec["trial_period_days"], "usage_type": rec["usage_type"],
    }


def new_coupon(coupon_id: str, now: int, *, name: str | None, percent_off: Decimal | None,
               amount_off: int | None, currency: str | None, duration: str, duration_in_months: int | None,
               max_redemptions: int | None, redeem_by: int | None, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "id": coupon_id, "object": "coupon", "amount_off": amount_off, "created": now, "currency": currency,
        "duration": duration, "duration_in_months": duration_in_months, "livemode": False,
        "max_redemptions": max_redemptions, "metadata": metadata, "name": name, "percent_off": percent_off,
        "redeem_by": redeem_by, "times_redeemed": 0, "valid": True,
    }


def new_tax_rate(rate_id: str, now: int, *, display_name: str, percentage: Decimal, inclusive: bool,
                 country: str | None, jurisdiction: str | None, state: str | None, description: str | None,
                 tax_type: str | None, metadata: dict[str, str], active: bool = True) -> dict[str, Any]:
    return {
        "id": rate_id, "object": "tax_rate", "active": active, "country": country, "created": now,
        "description": description, "display_name": display_name, "effective_percentage": percentage,
        "flat_amount": None, "inclusive": inclusive, "jurisdiction": jurisdiction, "jurisdiction_level": None,
        "livemode": False, "metadata": metadata, "percentage": percentage, "rate_type": "percentage",
        "state": state, "tax_type": tax_type,
    }


def new_subscription(subscription_id: str, now: int, *, customer: str, currency: str, collection_method: str,
                     days_until_due: int | None, default_payment_method: str | None, description: str | None,
                     metadata: dict[str, str], default_tax_rates: list[dict[str, Any]]) -> dict[str, Any]:
    """A subscription without its `items` list (rendered from the item store) and in status incomplete."""
    return {
        "id": subscription_id, "object": "subscription", "application": None, "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now, "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic"}, "billing_schedules": [],
        "billing_thresholds": None, "cancel_at": None, "cancel_at_period_end": False, "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": collection_method, "created": now, "currency": currency, "customer": customer,
        "customer_account": None, "days_until_due": days_until_due,
        "default_payment_method": default_payment_method, "default_source": None,
        "default_tax_rates": default_tax_rates, "description": description, "discounts": [], "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "latest_invoice": None, "livemode": False, "managed_payments": None, "metadata": metadata,
        "next_pending_invoice_item_invoice": None, "on_behalf_of": None, "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None, "pending_update": None,
        "schedule": None, "start_date": now, "status": "incomplete", "test_clock": None, "transfer_data": None,
        "trial_end": None, "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }


def new_subscription_item(item_id: str, now: int, *, subscription: str, price: str, quantity: int,
                          period_start: int, period_end: int, metadata: dict[str, str],
                          tax_rates: list[dict[str, Any]]) -> dict[str, Any]:
    """Stored with the price id; `render_subscription_item` embeds the price and plan objects."""
    return {
        "id": item_id, "object": "subscription_item", "billing_thresholds": None, "created": now,
        "current_period_end": period_end, "current_period_start": period_start, "discounts": [],
        "metadata": metadata, "price": price, "quantity": quantity, "subscription": subscription,
        "tax_rates": tax_rates,
    }


def render_subscription_item(item: dict[str, Any], price: dict[str, Any]) -> dict[str, Any]:
    return {**item, "price": dict(price), "plan": plan_from_price(price)}


def new_invoice_payment(payment_id: str, now: int, *, invoice: str, currency: str, amount: int,
                        payment_intent: str | None, status: str) -> dict[str, Any]:
    paid = status == "paid"
    return {
        "id": payment_id, "object": "invoice_payment", "amount_paid": amount if paid else None,
        "amount_requested": amount, "created": now, "currency": currency, "invoice": invoice, "is_default": True,
        "livemode": False,
        "payment": {"payment_intent": payment_intent, "type": "payment_intent"} if payment_intent
        else {"type": "out_of_band_payment"},
        "status": status, "status_transitions": {"canceled_at": None, "paid_at": now if paid else None},
    }


def new_meter_event(*, event_name: str, identifier: str, payload: dict[str, str], timestamp: int,
                    now: int) -> dict[str, Any]:
    return {"object": "billing.meter_event", "created": now, "event_name": event_name, "identifier": identifier,
            "livemode": False, "payload": payload, "timestamp": timestamp}


def new_webhook_endpoint(endpoint_id: str, now: int, *, url: str, enabled_events: list[str],
                         description: str | None, metadata: dict[str, str], api_version: str | None,
                         secret: str) -> dict[str, Any]:
    """Stored with its secret; Stripe shows `secret` only in the create response."""
    return {
        "id": endpoint_id, "object": "webhook_endpoint", "api_version": api_version, "application": None,
        "created": now, "description": description, "enabled_events": enabled_events, "livemode": False,
        "metadata": metadata, "secret": secret, "status": "enabled", "url": url,
    }
