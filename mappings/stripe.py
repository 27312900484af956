"""Stripe dicts <-> canonical records. Pure functions: no SDK, no I/O.

Stripe amounts are integers in the currency's minor unit (cents, yen, fils), so they become Money
unchanged, except ISK, which Stripe still writes with two decimals (mappings.money.from_stripe_amount).
Invoice lines keep their discounts and per-line taxes as Stripe rounded them, so totals tie out.
The other Stripe objects live in mappings.stripe_* modules, one per family, each with its field table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from mappings.canonical import Customer, Invoice, InvoiceLine, LineTax, MappingError
from mappings.money import Money, UnknownCurrency, from_stripe_amount, normalize_currency
from mappings.stripe_common import MAPPING_VERSION, SALESFORCE_ID_KEY

__all__ = ["MAPPING_VERSION", "SALESFORCE_ID_KEY", "customer_from_stripe", "customer_to_stripe", "invoice_from_stripe"]
INVOICE_STATUSES = frozenset({"draft", "open", "paid", "uncollectible", "void"})


def _required_id(obj: dict[str, Any], expected_object: str) -> str:
    if not isinstance(obj, dict):
        raise MappingError(f"expected a Stripe {expected_object} object, got {type(obj).__name__}")
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not object_id:
        raise MappingError(f"Stripe {expected_object} without an id")
    if obj.get("object") not in (None, expected_object):
        raise MappingError(f"{object_id}: expected object {expected_object!r}, got {obj.get('object')!r}")
    if obj.get("deleted"):
        raise MappingError(f"{object_id}: {expected_object} is deleted")
    return object_id


def _currency(code: Any, where: str) -> str:
    try:
        return normalize_currency(code)
    except UnknownCurrency as exc:
        raise MappingError(f"{where}: {exc}", field="currency", reason=str(exc)) from exc


def _minor_units(value: Any, field: str, where: str) -> int:
    # bool is an int in Python; a float or a string is a vendor shape we must not guess about.
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{where}: {field} must be an integer amount in minor units, got {value!r}", field=field)
    return value


def _money(value: Any, currency: str, field: str, where: str) -> Money:
    try:
        return from_stripe_amount(_minor_units(value, field, where), currency)
    except ValueError as exc:
        raise MappingError(f"{where}: {field}: {exc}", field=field, reason=str(exc)) from exc


def _sum_amounts(items: Any, currency: str, field: str, where: str) -> Money | None:
    """Sum of [{amount: ...}] (discount_amounts, taxes, total_taxes); None when Stripe sent null."""
    if items is None:
        return None
    result = Money.zero(currency)
    for index, item in enumerate(items):
        result = result + _money(item.get("amount"), currency, f"{field}[{index}].amount", where)
    return result


def _line_taxes(line: dict, currency: str, where: str) -> tuple[LineTax, ...]:
    taxes = []
    for index, tax in enumerate(line.get("taxes") or []):
        details = tax.get("tax_rate_details") or {}
        rate = details.get("tax_rate")
        taxable = tax.get("taxable_amount")
        taxes.append(LineTax(
            amount=_money(tax.get("amount"), currency, f"taxes[{index}].amount", where),
            taxable_amount=_money(taxable if taxable is not None else line.get("amount"), currency,
                                  f"taxes[{index}].taxable_amount", where),
            rate_id=rate.get("id") if isinstance(rate, dict) else rate,
            percentage=_percentage(details.get("percentage")),
            inclusive=tax.get("tax_behavior") == "inclusive",
        ))
    return tuple(taxes)


def _percentage(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))  # str(): a JSON number read as float stays exact


def _utc_date(timestamp: Any, field: str, where: str) -> date:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise MappingError(f"{where}: {field} must be a Unix timestamp, got {timestamp!r}")
    return datetime.fromtimestamp(timestamp, tz=UTC).date()


def _customer_id(value: Any, where: str) -> str:
    if isinstance(value, dict):  # expanded with expand[]=customer
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise MappingError(f"{where}: invoice has no customer")
    return value


# -- customers -------------------------------------------------------------------------------------


def customer_from_stripe(obj: dict) -> Customer:
    customer_id = _required_id(obj, "customer")
    raw_currency = obj.get("currency")
    salesforce_id = (obj.get("metadata") or {}).get(SALESFORCE_ID_KEY) or None
    return Customer(
        stripe_id=customer_id,
        name=obj.get("name") or "",
        email=obj.get("email") or None,
        currency=_currency(raw_currency, customer_id) if raw_currency else None,
        salesforce_id=salesforce_id,
    )


def customer_to_stripe(customer: Customer) -> dict:
    """Create/update parameters for a Stripe customer.

    No `currency`: Stripe does not accept it on customers; a customer's currency is fixed by its
    first invoice or subscription.
    """
    params: dict[str, Any] = {"name": customer.name}
    if customer.email:
        params["email"] = customer.email
    if customer.salesforce_id:
        params["metadata"] = {SALESFORCE_ID_KEY: customer.salesforce_id}
    return params


# -- invoices --------------------------------------------------------------------------------------


def _lines(obj: dict[str, Any], invoice_id: str, currency: str) -> tuple[InvoiceLine, ...]:
    raw = obj.get("lines")
    if raw is None:
        return ()
    if isinstance(raw, dict):
        if raw.get("has_more"):
            raise MappingError(f"{invoice_id}: only some lines are present (has_more); fetch them all first")
        raw = raw.get("data") or []
    lines = []
    for line in raw:
        line_id = line.get("id")
        if not isinstance(line_id, str) or not line_id:
            raise MappingError(f"{invoice_id}: a line has no id")
        where = f"{invoice_id} line {line_id}"
        if line.get("currency") is not None and _currency(line["currency"], where) != currency:
            raise MappingError(f"{where}: currency {line['currency']!r} differs from the invoice's {currency}",
                               field="currency")
        quantity = line.get("quantity")
        if quantity is None:
            quantity = 1
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise MappingError(f"{where}: quantity must be an integer, got {quantity!r}")
        lines.append(
            InvoiceLine(
                line_id=f"{invoice_id}:{line_id}",
                description=line.get("description") or "",
                quantity=quantity,
                amount=_money(line.get("amount"), currency, "amount", where),
                discount=_sum_amounts(line.get("discount_amounts") or None, currency, "discount_amounts", where),
                taxes=_line_taxes(line, currency, where),
                price_id=_line_price_id(line),
            )
        )
    return tuple(lines)


def _line_price_id(line: dict) -> str | None:
    pricing = line.get("pricing") or {}
    price = (pricing.get("price_details") or {}).get("price")
    if isinstance(price, dict):
        price = price.get("id")
    return price if isinstance(price, str) else None


def invoice_from_stripe(obj: dict, known_customers: set[str] | None = None) -> Invoice:
    """A Stripe invoice as a canonical Invoice; MappingError says why one cannot be mapped."""
    invoice_id = _required_id(obj, "invoice")
    currency = _currency(obj.get("currency"), invoice_id)
    customer_id = _customer_id(obj.get("customer"), invoice_id)
    if known_customers is not None and customer_id not in known_customers:
        raise MappingError(f"{invoice_id}: customer {customer_id} is not a known customer", field="customer",
                           reason="unknown customer")
    total = _money(obj.get("total"), currency, "total", invoice_id)
    status = obj.get("status")
    if status not in INVOICE_STATUSES:
        raise MappingError(f"{invoice_id}: unknown status {status!r}", field="status", reason="unknown status")
    finalized_at = (obj.get("status_transitions") or {}).get("finalized_at")
    if finalized_at is not None:
        issued_on = _utc_date(finalized_at, "status_transitions.finalized_at", invoice_id)
    else:
        issued_on = _utc_date(obj.get("created"), "created", invoice_id)
    due_date = obj.get("due_date")
    lines = _lines(obj, invoice_id, currency)
    subtotal = obj.get("subtotal")
    if subtotal is not None and obj.get("lines") is not None:
        subtotal_money = _money(subtotal, currency, "subtotal", invoice_id)
        line_sum = sum(line.amount.amount_minor for line in lines)
        if line_sum != subtotal_money.amount_minor:
            raise MappingError(
                f"{invoice_id}: lines sum to {line_sum} but the subtotal is {subtotal_money.amount_minor} ({currency})",
                field="subtotal", reason="lines do not sum to subtotal")
    tax = _sum_amounts(obj.get("total_taxes"), currency, "total_taxes", invoice_id)
    if tax is not None and obj.get("lines") is not None and any(line.taxes for line in lines):
        line_tax = sum(t.amount.amount_minor for line in lines for t in line.taxes)
        if line_tax != tax.amount_minor:
            raise MappingError(f"{invoice_id}: line taxes sum to {line_tax} but total_taxes to {tax.amount_minor}",
                               field="total_taxes", reason="line taxes do not sum to total tax")
    return Invoice(
        stripe_id=invoice_id,
        customer_stripe_id=customer_id,
        number=obj.get("number") or None,
        status=status,
        total=total,
        issued_on=issued_on,
        due_on=_utc_date(due_date, "due_date", invoice_id) if due_date is not None else None,
        lines=lines,
        subtotal=_money(subtotal, currency, "subtotal", invoice_id) if subtotal is not None else None,
        discount=_sum_amounts(obj.get("total_discount_amounts") or None, currency, "total_discount_amounts",
                              invoice_id),
        tax=tax,
        amount_paid=_money(obj["amount_paid"], currency, "amount_paid", invoice_id)
        if obj.get("amount_paid") is not None else None,
    )
