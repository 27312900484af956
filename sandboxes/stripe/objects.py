"""Stripe objects shaped like the API's (fields of fixtures3.json), for API version 2026-10-28.

Builders return plain dicts; the state module owns them. Invoice lines live beside the invoice
and are embedded on output (see `render_invoice`), because Stripe embeds only the first few.
"""

from __future__ import annotations

import hashlib
import random
import string
from typing import Any

API_VERSION = "2026-10-28.endive"
ACCOUNT_COUNTRY = "US"
ACCOUNT_NAME = "Concord Sandbox Inc."
# Stripe embeds only the first lines of an invoice; clients page /v1/invoices/{id}/lines for the rest.
EMBEDDED_LINES = 10
# Planted objects without `created` get this one (2026-01-01T00:00:00Z, the seed epoch).
EPOCH_FALLBACK = 1_767_225_600

_ALPHABET = string.ascii_letters + string.digits


class IdFactory:
    """Stripe-looking ids (`cus_...`, `in_...`) from a seeded generator: same seed, same ids."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"stripe-sandbox-{seed}")

    def new(self, prefix: str, length: int = 24) -> str:
        return prefix + "".join(self._rng.choice(_ALPHABET) for _ in range(length))


# byte -> its id character (byte % 62), so stable ids are one translate() instead of a loop per character.
_BYTE_TO_CHAR = bytes(ord(_ALPHABET[byte % len(_ALPHABET)]) for byte in range(256))


def stable_id(prefix: str, *parts: object, length: int = 24) -> str:
    """An id derived from its parts, for seeded objects that must not depend on creation order."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return prefix + digest[:length].translate(_BYTE_TO_CHAR).decode("ascii")


def invoice_prefix_for(customer_id: str) -> str:
    return hashlib.sha256(customer_id.encode()).hexdigest()[:8].upper()


def new_customer(
    customer_id: str,
    created: int,
    *,
    name: str | None = None,
    email: str | None = None,
    currency: str | None = None,
    description: str | None = None,
    phone: str | None = None,
    metadata: dict[str, str] | None = None,
    invoice_prefix: str | None = None,
) -> dict[str, Any]:
    return {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": currency,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "invoice_prefix": invoice_prefix or invoice_prefix_for(customer_id),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": dict(metadata or {}),
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def new_invoice(
    invoice_id: str,
    customer: dict[str, Any] | None,
    customer_id: str,
    currency: str,
    created: int,
    *,
    collection_method: str = "charge_automatically",
    due_date: int | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    auto_advance: bool = False,
) -> dict[str, Any]:
    """A draft invoice with no lines; totals are recomputed from lines by `recompute_totals`."""
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": ACCOUNT_COUNTRY,
        "account_name": ACCOUNT_NAME,
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": auto_advance,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None, "provider": None,
                          "status": None},
        "automatically_finalizes_at": None,
        "billing_reason": "manual",
        "collection_method": collection_method,
        "created": created,
        "currency": currency,
        "custom_fields": None,
        "customer": customer_id,
        "customer_account": None,
        "customer_address": None,
        "customer_email": (customer or {}).get("email"),
        "customer_name": (customer or {}).get("name"),
        "customer_phone": (customer or {}).get("phone"),
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "due_date": due_date,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": None,
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "period_end": created,
        "period_start": created,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None,
                               "voided_at": None},
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": None,
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def new_invoice_item(
    item_id: str,
    customer_id: str,
    currency: str,
    created: int,
    *,
    amount: int,
    quantity: int,
    unit_amount: int,
    description: str | None,
    invoice_id: str | None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "invoiceitem",
        "amount": amount,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "date": created,
        "description": description,
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "net_amount": amount,
        "parent": None,
        "period": {"end": created, "start": created},
        "pricing": {"type": "price_details", "unit_amount_decimal": str(unit_amount)},
        "proration": False,
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "tax_rates": [],
        "test_clock": None,
    }


def line_from_item(line_id: str, item: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    """The invoice line item an invoice item becomes once it is on an invoice."""
    return {
        "id": line_id,
        "object": "line_item",
        "amount": item["amount"],
        "currency": item["currency"],
        "description": item["description"],
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": dict(item["metadata"]),
        "parent": {
            "invoice_item_details": {
                "invoice_item": item["id"],
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        },
        "period": dict(item["period"]),
        "pretax_credit_amounts": [],
        "pricing": dict(item["pricing"]),
        "quantity": item["quantity"],
        "quantity_decimal": item["quantity_decimal"],
        "subscription": None,
        "subtotal": item["amount"],
        "taxes": [],
    }


def recompute_totals(invoice: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    """No tax, discounts or credit in the sandbox: total = subtotal = sum of line amounts."""
    subtotal = sum(line["amount"] for line in lines)
    invoice.update(
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal,
        total=subtotal,
        total_excluding_tax=subtotal,
        amount_due=subtotal,
        amount_remaining=subtotal - invoice["amount_paid"],
    )


def list_object(data: list[dict[str, Any]], has_more: bool, url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def render_invoice(invoice: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    shown = lines[:EMBEDDED_LINES]
    return {
        **invoice,
        "lines": list_object(shown, len(lines) > len(shown), f"/v1/invoices/{invoice['id']}/lines"),
    }
