"""Handlers for products, prices, coupons and tax rates (create, retrieve, update, list; coupon delete)."""

from __future__ import annotations

import copy
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.stripe import catalog_objects, currencies
from sandboxes.stripe.errors import invalid_param, missing, missing_param
from sandboxes.stripe.events import previous_attributes
from sandboxes.stripe.listing import list_endpoint
from sandboxes.stripe.params import (
    currency,
    merge_metadata,
    optional_bool,
    optional_int,
    optional_str,
    reject_unknown,
    required_str,
)
from sandboxes.stripe.state import StripeState

Body = dict[str, Any]
Path = dict[str, str]
_INTERVALS = {"day", "week", "month", "year"}


def _get(store: dict[str, Body], object_name: str, object_id: str) -> Body:
    found = store.get(object_id)
    if found is None:
        raise missing(object_name, object_id)
    return found


def _decimal(params: Body, name: str) -> Decimal | None:
    value = optional_str(params, name)
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise invalid_param(name, f"Invalid decimal: {value}") from None
    if not number.is_finite() or number < 0 or number > 100:
        raise invalid_param(name, f"Invalid {name}: must be between 0 and 100")
    return number.normalize() if number == number.to_integral() else number


def _update(state: StripeState, obj: Body, changes: Body, event: str, now: int) -> Body:
    before = copy.deepcopy(obj)
    obj.update(changes)
    previous = previous_attributes(before, obj)
    if previous:
        state.emit(event, obj, now, previous)
    return obj


# -- products ------------------------------------------------------------------------------------

_PRODUCT_FIELDS = {"name", "description", "active", "metadata", "unit_label", "tax_code", "id", "default_price_data"}


def create_product(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, _PRODUCT_FIELDS)
    name = required_str(params, "name")
    product_id = optional_str(params, "id") or state.ids.new("prod_", 14)
    if product_id in state.products:
        raise invalid_param("id", f"Product already exists: {product_id}", code="resource_already_exists")
    product = catalog_objects.new_product(
        product_id, now, name=name, description=optional_str(params, "description"),
        active=optional_bool(params, "active") is not False, metadata=merge_metadata({}, params),
        unit_label=optional_str(params, "unit_label"), tax_code=optional_str(params, "tax_code"),
    )
    state.products[product_id] = product
    state.emit("product.created", product, now)
    price_data = params.get("default_price_data")
    if isinstance(price_data, dict):
        price = _new_price(state, price_data, product_id, now, "default_price_data")
        product["default_price"] = price["id"]
    return product


def retrieve_product(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return _get(state.products, "product", path["id"])


def update_product(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"name", "description", "active", "metadata", "unit_label", "tax_code", "default_price"})
    product = _get(state.products, "product", path["id"])
    changes: Body = {"metadata": merge_metadata(product["metadata"], params)}
    for field in ("name", "description", "unit_label", "tax_code"):
        if field in params:
            changes[field] = optional_str(params, field) or None
    if "active" in params:
        changes["active"] = optional_bool(params, "active")
    if "default_price" in params:
        price_id = required_str(params, "default_price")
        price = _get(state.prices, "price", price_id)
        if price["product"] != product["id"]:
            raise invalid_param("default_price", f"The price {price_id} does not belong to this product.")
        changes["default_price"] = price_id
    changes["updated"] = now
    return _update(state, product, changes, "product.updated", now)


def list_products(state: StripeState, params: Body, _: Path, __: int) -> Body:
    return list_endpoint(state.products.values(), params, "/v1/products", "product", equals=("active",))


# -- prices --------------------------------------------------------------------------------------


def _new_price(state: StripeState, params: Body, product_id: str, now: int, prefix: str = "") -> Body:
    price_currency = currency(params)
    if price_currency is None:
        raise missing_param(f"{prefix}[currency]" if prefix else "currency")
    unit_amount = optional_int(params, "unit_amount", minimum=0)
    if unit_amount is None:
        raise missing_param(f"{prefix}[unit_amount]" if prefix else "unit_amount")
    currencies.validate_amount(unit_amount, price_currency, param="unit_amount")
    raw_recurring = params.get("recurring")
    recurring = None
    if isinstance(raw_recurring, dict):
        interval = required_str(raw_recurring, "interval")
        if interval not in _INTERVALS:
            raise invalid_param("recurring[interval]", "Invalid recurring[interval]: must be one of "
                                "day, month, week, or year")
        count = optional_int(raw_recurring, "interval_count", minimum=1) or 1
        recurring = catalog_objects.recurring(interval, count)
    lookup_key = optional_str(params, "lookup_key")
    if lookup_key and any(p["lookup_key"] == lookup_key for p in state.prices.values()):
        raise invalid_param("lookup_key", f"A price (`{lookup_key}`) already uses that lookup key.")
    price = catalog_objects.new_price(
        state.ids.new("price_"), now, product=product_id, currency=price_currency, unit_amount=unit_amount,
        recurring=recurring, nickname=optional_str(params, "nickname"), lookup_key=lookup_key,
        metadata=merge_metadata({}, params), active=optional_bool(params, "active") is not False,
        tax_behavior=optional_str(params, "tax_behavior") or "unspecified",
    )
    state.prices[price["id"]] = price
    state.emit("price.created", price, now)
    return price


def create_price(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, {"product", "product_data", "currency", "unit_amount", "recurring", "nickname",
                            "lookup_key", "metadata", "active", "tax_behavior"})
    product_id = optional_str(params, "product") if not isinstance(params.get("product_data"), dict) else None
    if product_id is None and not isinstance(params.get("product_data"), dict):
        raise missing_param("product")
    if product_id is not None:
        _get(state.products, "product", product_id)
    else:
        product_data = params["product_data"]
        product = create_product(state, {key: product_data[key] for key in product_data
                                         if key in ("name", "metadata", "unit_label", "tax_code", "active")},
                                 {}, now)
        product_id = product["id"]
    return _new_price(state, params, product_id, now)


def retrieve_price(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return _get(state.prices, "price", path["id"])


def update_price(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"active", "metadata", "nickname", "lookup_key", "tax_behavior"})
    price = _get(state.prices, "price", path["id"])
    changes: Body = {"metadata": merge_metadata(price["metadata"], params)}
    for field in ("nickname", "lookup_key", "tax_behavior"):
        if field in params:
            changes[field] = optional_str(params, field) or None
    if "active" in params:
        changes["active"] = optional_bool(params, "active")
    return _update(state, price, changes, "price.updated", now)


def list_prices(state: StripeState, params: Body, _: Path, __: int) -> Body:
    lookup_keys = params.get("lookup_keys")
    items = list(state.prices.values())
    if lookup_keys is not None:
        keys = set(lookup_keys if isinstance(lookup_keys, list) else [lookup_keys])
        items = [price for price in items if price["lookup_key"] in keys]
    return list_endpoint(items, params, "/v1/prices", "price", equals=("active", "product", "currency", "type"),
                         extra=("lookup_keys",), choices={"type": {"one_time", "recurring"}})


# -- coupons -------------------------------------------------------------------------------------

_DURATIONS = {"once", "repeating", "forever"}


def create_coupon(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, {"id", "name", "percent_off", "amount_off", "currency", "duration", "duration_in_months",
                            "max_redemptions", "redeem_by", "metadata"})
    percent_off = _decimal(params, "percent_off")
    amount_off = optional_int(params, "amount_off", minimum=1)
    if (percent_off is None) == (amount_off is None):
        raise invalid_param("percent_off", "You must pass exactly one of percent_off or amount_off.")
    coupon_currency = currency(params)
    if amount_off is not None and coupon_currency is None:
        raise missing_param("currency")
    if amount_off is not None and coupon_currency is not None:
        currencies.validate_amount(amount_off, coupon_currency, param="amount_off")
    duration = optional_str(params, "duration") or "once"
    if duration not in _DURATIONS:
        raise invalid_param("duration", "Invalid duration: must be one of forever, once, or repeating")
    months = optional_int(params, "duration_in_months", minimum=1)
    if duration == "repeating" and months is None:
        raise missing_param("duration_in_months")
    coupon_id = optional_str(params, "id") or state.ids.new("", 8).upper()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,200}", coupon_id):
        raise invalid_param("id", f"Invalid coupon id: {coupon_id}")
    if coupon_id in state.coupons:
        raise invalid_param("id", "Coupon already exists.", code="resource_already_exists")
    coupon = catalog_objects.new_coupon(
        coupon_id, now, name=optional_str(params, "name"), percent_off=percent_off, amount_off=amount_off,
        currency=coupon_currency if amount_off is not None else None, duration=duration,
        duration_in_months=months if duration == "repeating" else None,
        max_redemptions=optional_int(params, "max_redemptions", minimum=1),
        redeem_by=optional_int(params, "redeem_by"), metadata=merge_metadata({}, params),
    )
    state.coupons[coupon_id] = coupon
    state.emit("coupon.created", coupon, now)
    return coupon


def retrieve_coupon(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return _get(state.coupons, "coupon", path["id"])


def update_coupon(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"name", "metadata"})
    coupon = _get(state.coupons, "coupon", path["id"])
    changes: Body = {"metadata": merge_metadata(coupon["metadata"], params)}
    if "name" in params:
        changes["name"] = optional_str(params, "name") or None
    return _update(state, coupon, changes, "coupon.updated", now)


def delete_coupon(state: StripeState, _: Body, path: Path, now: int) -> Body:
    coupon = _get(state.coupons, "coupon", path["id"])
    del state.coupons[coupon["id"]]
    state.emit("coupon.deleted", coupon, now)
    return {"id": coupon["id"], "object": "coupon", "deleted": True}


def list_coupons(state: StripeState, params: Body, _: Path, __: int) -> Body:
    return list_endpoint(state.coupons.values(), params, "/v1/coupons", "coupon")


# -- tax rates -----------------------------------------------------------------------------------


def create_tax_rate(state: StripeState, params: Body, _: Path, now: int) -> Body:
    reject_unknown(params, {"display_name", "percentage", "inclusive", "active", "country", "jurisdiction", "state",
                            "description", "tax_type", "metadata"})
    display_name = required_str(params, "display_name")
    percentage = _decimal(params, "percentage")
    if percentage is None:
        raise missing_param("percentage")
    inclusive = optional_bool(params, "inclusive")
    if inclusive is None:
        raise missing_param("inclusive")
    rate = catalog_objects.new_tax_rate(
        state.ids.new("txr_"), now, display_name=display_name, percentage=percentage, inclusive=inclusive,
        country=optional_str(params, "country"), jurisdiction=optional_str(params, "jurisdiction"),
        state=optional_str(params, "state"), description=optional_str(params, "description"),
        tax_type=optional_str(params, "tax_type"), metadata=merge_metadata({}, params),
        active=optional_bool(params, "active") is not False,
    )
    state.tax_rates[rate["id"]] = rate
    state.emit("tax_rate.created", rate, now)
    return rate


def retrieve_tax_rate(state: StripeState, _: Body, path: Path, __: int) -> Body:
    return _get(state.tax_rates, "tax_rate", path["id"])


def update_tax_rate(state: StripeState, params: Body, path: Path, now: int) -> Body:
    reject_unknown(params, {"active", "display_name", "description", "metadata", "jurisdiction", "country",
                            "state", "tax_type"})
    rate = _get(state.tax_rates, "tax_rate", path["id"])
    changes: Body = {"metadata": merge_metadata(rate["metadata"], params)}
    for field in ("display_name", "description", "jurisdiction", "country", "state", "tax_type"):
        if field in params:
            changes[field] = optional_str(params, field) or None
    if "active" in params:
        changes["active"] = optional_bool(params, "active")
    return _update(state, rate, changes, "tax_rate.updated", now)


def list_tax_rates(state: StripeState, params: Body, _: Path, __: int) -> Body:
    return list_endpoint(state.tax_rates.values(), params, "/v1/tax_rates", "tax_rate",
                         equals=("active", "inclusive"))


ROUTES = [
    ("POST", "/v1/products", create_product), ("GET", "/v1/products", list_products),
    ("GET", "/v1/products/{id}", retrieve_product), ("POST", "/v1/products/{id}", update_product),
    ("POST", "/v1/prices", create_price), ("GET", "/v1/prices", list_prices),
    ("GET", "/v1/prices/{id}", retrieve_price), ("POST", "/v1/prices/{id}", update_price),
    ("POST", "/v1/coupons", create_coupon), ("GET", "/v1/coupons", list_coupons),
    ("GET", "/v1/coupons/{id}", retrieve_coupon), ("POST", "/v1/coupons/{id}", update_coupon),
    ("DELETE", "/v1/coupons/{id}", delete_coupon),
    ("POST", "/v1/tax_rates", create_tax_rate), ("GET", "/v1/tax_rates", list_tax_rates),
    ("GET", "/v1/tax_rates/{id}", retrieve_tax_rate), ("POST", "/v1/tax_rates/{id}", update_tax_rate),
]
