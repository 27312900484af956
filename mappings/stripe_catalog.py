"""Stripe products and prices <-> canonical Product and Price (field tables below)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mappings.canonical import MappingError
from mappings.codecs import BOOLEAN, CURRENCY_LOWER, EXPANDABLE_ID, METADATA, STRIPE_MONEY, TEXT
from mappings.fields import Codec, Context, EntityMapping, Field
from mappings.model.catalog import Price, PriceTier, Product, Recurring
from mappings.money import currency_spec, from_stripe_amount, to_stripe_amount
from mappings.stripe_common import MAPPING_VERSION, currency_of, object_id

PRODUCT = EntityMapping("stripe", "product", "product", MAPPING_VERSION, (
    Field("ids.stripe", "id", TEXT, required=True, writable=False),
    Field("name", "name", TEXT, required=True),
    Field("active", "active", BOOLEAN),
    Field("description", "description", TEXT),
    Field("unit_label", "unit_label", TEXT),
    Field("tax_code", "tax_code", EXPANDABLE_ID),
    Field("default_price_stripe_id", "default_price", EXPANDABLE_ID),
    Field("metadata", "metadata", METADATA),
))


def product_from_stripe(obj: dict) -> Product:
    product_id = object_id(obj, "product")
    values = PRODUCT.decode(obj, {}, product_id)
    values["active"] = values["active"] if values["active"] is not None else True
    values["metadata"] = values["metadata"] or {}
    return Product(**values)


def product_to_stripe(product: Product) -> dict:
    return {"object": "product", **PRODUCT.encode(product, {})}


# -- prices ----------------------------------------------------------------------------------------


def _decimal_minor_from_stripe(value: Any, ctx: Context) -> Decimal:
    """unit_amount_decimal: Stripe API units as a decimal string (ISK x100) -> canonical minor units."""
    if isinstance(value, float):
        raise ValueError("unit_amount_decimal arrived as float")
    return Decimal(str(value)) / currency_spec(ctx["currency"]).stripe_factor


def _decimal_minor_to_stripe(value: Decimal, ctx: Context) -> str:
    return str(value * currency_spec(ctx["currency"]).stripe_factor)


STRIPE_DECIMAL_MINOR = Codec("decimal string of minor units", _decimal_minor_from_stripe, _decimal_minor_to_stripe)


def _recurring_in(value: Any, _ctx: Context) -> Recurring:
    meter = value.get("meter")
    return Recurring(
        interval=value["interval"],
        interval_count=int(value.get("interval_count") or 1),
        usage_type=value.get("usage_type") or "licensed",
        meter=meter if isinstance(meter, str) else None,
    )


def _recurring_out(value: Recurring, _ctx: Context) -> dict:
    return {"interval": value.interval, "interval_count": value.interval_count, "usage_type": value.usage_type,
            "meter": value.meter}


RECURRING = Codec("{interval, interval_count, usage_type, meter}", _recurring_in, _recurring_out)


def _tiers_in(value: Any, ctx: Context) -> tuple[PriceTier, ...]:
    tiers = []
    for tier in value:
        up_to = tier.get("up_to")
        if up_to == "inf":
            up_to = None
        tiers.append(PriceTier(
            up_to=up_to,
            unit_amount=None if tier.get("unit_amount") is None else from_stripe_amount(tier["unit_amount"],
                                                                                       ctx["currency"]),
            flat_amount=None if tier.get("flat_amount") is None else from_stripe_amount(tier["flat_amount"],
                                                                                       ctx["currency"]),
        ))
    return tuple(tiers)


def _tiers_out(value: tuple[PriceTier, ...], _ctx: Context) -> list[dict]:
    return [
        {
            "up_to": tier.up_to,
            "unit_amount": None if tier.unit_amount is None else to_stripe_amount(tier.unit_amount),
            "flat_amount": None if tier.flat_amount is None else to_stripe_amount(tier.flat_amount),
        }
        for tier in value
    ]


TIERS = Codec("[{up_to, unit_amount, flat_amount}] minor units", _tiers_in, _tiers_out)

PRICE = EntityMapping("stripe", "price", "price", MAPPING_VERSION, (
    Field("ids.stripe", "id", TEXT, required=True, writable=False),
    Field("product_stripe_id", "product", EXPANDABLE_ID, required=True),
    Field("currency", "currency", CURRENCY_LOWER, required=True),
    Field("active", "active", BOOLEAN),
    Field("billing_scheme", "billing_scheme", TEXT),
    Field("unit_amount", "unit_amount", STRIPE_MONEY),
    Field("unit_amount_decimal", "unit_amount_decimal", STRIPE_DECIMAL_MINOR),
    Field("recurring", "recurring", RECURRING),
    Field("type", "type", TEXT, direction="out"),
    Field("tiers_mode", "tiers_mode", TEXT),
    Field("tiers", "tiers", TIERS),
    Field("tax_behavior", "tax_behavior", TEXT),
    Field("nickname", "nickname", TEXT),
    Field("lookup_key", "lookup_key", TEXT),
), notes=("unit_amount_decimal is kept only when it says more than unit_amount (sub-minor-unit prices)",))


def price_from_stripe(obj: dict) -> Price:
    price_id = object_id(obj, "price")
    currency = currency_of(obj, price_id)
    values = PRICE.decode(obj, {"currency": currency}, price_id)
    for name, default in (("active", True), ("billing_scheme", "per_unit"), ("tax_behavior", "unspecified")):
        if values[name] is None:
            values[name] = default
    values["tiers"] = values["tiers"] or ()
    unit_amount, exact = values["unit_amount"], values["unit_amount_decimal"]
    if unit_amount is not None and exact is not None and exact == unit_amount.amount_minor:
        values["unit_amount_decimal"] = None  # it says nothing unit_amount does not
    if values["billing_scheme"] == "tiered" and not values["tiers"] and "tiers" in obj:
        raise MappingError(f"{price_id}: tiered price without tiers", field="tiers", reason="missing")
    return Price(**values)


def price_to_stripe(price: Price) -> dict:
    body = {"object": "price", **PRICE.encode(price, {"currency": price.currency})}
    if price.unit_amount is not None and price.unit_amount_decimal is None:
        body["unit_amount_decimal"] = str(to_stripe_amount(price.unit_amount))  # Stripe always sends both
    return body


__all__ = ["PRICE", "PRODUCT", "price_from_stripe", "price_to_stripe", "product_from_stripe",
           "product_to_stripe"]
