"""QuickBooks Online <-> canonical records (pure functions, no I/O).

The link between a Stripe record and its QuickBooks copy is written where a bookkeeper can see it:
a customer's Notes and an invoice's PrivateNote carry "stripe:<id>". Money crosses as Decimal major
units (Money.to_decimal / from_decimal), never float.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from mappings.canonical import Customer, Invoice, InvoiceLine, MappingError
from mappings.money import Money, exponent, from_decimal

STRIPE_PREFIX = "stripe:"
SALESFORCE_PREFIX = "salesforce:"
HOME_CURRENCY = "USD"  # what QuickBooks means when a record has no CurrencyRef (multicurrency off)

MAX_DISPLAY_NAME = 500
MAX_DOC_NUMBER = 21
MAX_PAYMENT_REF_NUM = 21
# Unit prices QuickBooks stores to 7 decimal places; Amount must equal round(Qty * UnitPrice).
UNIT_PRICE_PLACES = 7

_COLON = re.compile(r"\s*:\s*")
_CONTROL_WHITESPACE = re.compile(r"[\t\r\n]+")
_SPACES = re.compile(r" {2,}")


def display_name(name: str, suffix: str = "") -> str:
    """A DisplayName QuickBooks accepts.

    QuickBooks uses ':' to join parent and sub-customer names (FullyQualifiedName "Parent:Child"),
    so a colon in a name is rejected (2040); we write " - " instead, which reads the same. Tabs and
    newlines are rejected too and become spaces; QuickBooks trims, so we trim. The limit is 500
    characters; `suffix` (used to tell two same-named customers apart) is kept whole and the name
    shortened to make room for it.
    """
    cleaned = _SPACES.sub(" ", _CONTROL_WHITESPACE.sub(" ", _COLON.sub(" - ", name))).strip()
    cleaned = cleaned[: MAX_DISPLAY_NAME - len(suffix)].rstrip()
    return (cleaned + suffix) or suffix.strip()


def link_notes(stripe_id: str, salesforce_id: str | None = None) -> str:
    lines = [STRIPE_PREFIX + stripe_id]
    if salesforce_id:
        lines.append(SALESFORCE_PREFIX + salesforce_id)
    return "\n".join(lines)


def linked_ids(note: str | None) -> dict[str, str]:
    """{"stripe": id, "salesforce": id} from a Notes/PrivateNote written by link_notes."""
    found: dict[str, str] = {}
    for line in (note or "").splitlines():
        for system, prefix in (("stripe", STRIPE_PREFIX), ("salesforce", SALESFORCE_PREFIX)):
            if line.startswith(prefix) and line[len(prefix):].strip():
                found.setdefault(system, line[len(prefix):].strip())
    return found


def _currency_ref(currency: str) -> dict:
    return {"value": currency.upper()}


def customer_to_quickbooks(c: Customer, disambiguate: bool = False) -> dict:
    """A Customer create/update body. `disambiguate` appends " (<stripe id>)" to the DisplayName,
    for when another QuickBooks name already uses it (6240: names are unique across customers,
    vendors and employees, while Stripe allows two customers with one name)."""
    body: dict = {
        "DisplayName": display_name(c.name, f" ({c.stripe_id})" if disambiguate else ""),
        "CompanyName": display_name(c.name)[:100],
        "Notes": link_notes(c.stripe_id, c.salesforce_id),
    }
    if c.email:
        body["PrimaryEmailAddr"] = {"Address": c.email}
    if c.currency:
        body["CurrencyRef"] = _currency_ref(c.currency)
    return body


def _unit_price(amount: Money, quantity: int) -> Decimal:
    """Amount / Qty to 7 places, so that round(Qty * UnitPrice) gives Amount back exactly."""
    exact = amount.to_decimal() / Decimal(quantity)
    price = exact.quantize(Decimal(1).scaleb(-UNIT_PRICE_PLACES), rounding=ROUND_HALF_EVEN)
    # Drop trailing zeros, but keep integers plain: normalize() alone turns 7400 into 7.4E+3.
    return price.quantize(Decimal(1)) if price == price.to_integral_value() else price.normalize()


def _sales_line(line: InvoiceLine, position: int, item_ref: dict) -> dict:
    if line.quantity <= 0:
        raise MappingError(f"line {line.line_id}: quantity must be positive, got {line.quantity}")
    return {
        "LineNum": position,
        "Description": line.description,
        "Amount": line.amount.to_decimal(),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {
            "ItemRef": dict(item_ref),
            "Qty": Decimal(line.quantity),
            "UnitPrice": _unit_price(line.amount, line.quantity),
        },
    }


def invoice_to_quickbooks(inv: Invoice, customer_ref: str, item_ref: dict) -> dict:
    """An Invoice create body; PrivateNote "stripe:<id>" is the key that finds it again."""
    if not inv.lines:
        raise MappingError(f"invoice {inv.stripe_id} has no lines; QuickBooks requires at least one")
    body: dict = {
        "CustomerRef": {"value": customer_ref},
        "CurrencyRef": _currency_ref(inv.currency),
        "TxnDate": inv.issued_on.isoformat(),
        "PrivateNote": STRIPE_PREFIX + inv.stripe_id,
        "Line": [_sales_line(line, position, item_ref) for position, line in enumerate(inv.lines, start=1)],
    }
    if inv.number:
        body["DocNumber"] = inv.number[:MAX_DOC_NUMBER]  # QuickBooks' limit; the full number stays in Stripe
    if inv.due_on:
        body["DueDate"] = inv.due_on.isoformat()
    return body


def payment_to_quickbooks(
    inv: Invoice,
    invoice_qb_id: str,
    customer_ref: str,
    stripe_payment_id: str | None = None,
    paid_on: date | None = None,
) -> dict:
    """A Payment of the invoice's total, applied to that invoice.

    The Stripe charge/payment-intent id, when known, goes to PrivateNote and PaymentRefNum (the
    reference a bookkeeper sees); otherwise the invoice's Stripe id marks where it came from.
    """
    amount = inv.total.to_decimal()
    source = stripe_payment_id or inv.stripe_id
    body: dict = {
        "CustomerRef": {"value": customer_ref},
        "CurrencyRef": _currency_ref(inv.currency),
        "TotalAmt": amount,
        "PrivateNote": STRIPE_PREFIX + source,
        "PaymentRefNum": source[:MAX_PAYMENT_REF_NUM],
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice_qb_id, "TxnType": "Invoice"}]}],
    }
    if paid_on:
        body["TxnDate"] = paid_on.isoformat()
    return body


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, float):
        raise MappingError(f"{what} arrived as float; parse QuickBooks JSON with parse_float=Decimal")
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise MappingError(f"{what} is not a number: {value!r}") from exc


def _money(value: object, currency: str, what: str) -> Money:
    try:
        return from_decimal(_decimal(value, what), currency)
    except ValueError as exc:
        raise MappingError(f"{what}: {exc}") from exc


def _line_from_quickbooks(stripe_id: str, position: int, line: dict, currency: str) -> InvoiceLine:
    detail = line.get("SalesItemLineDetail") or {}
    quantity = _decimal(detail.get("Qty", 1), "Qty")
    if quantity != quantity.to_integral_value() or quantity <= 0:
        raise MappingError(f"invoice {stripe_id} line {position}: quantity {quantity} is not a positive integer")
    return InvoiceLine(
        # QuickBooks has nowhere to keep Stripe's line id; lines match by position within the invoice.
        line_id=f"{stripe_id}:{position}",
        description=line.get("Description") or "",
        quantity=int(quantity),
        amount=_money(line.get("Amount", 0), currency, f"invoice {stripe_id} line {position} Amount"),
    )


def invoice_from_quickbooks(obj: dict, customer_stripe_ids: dict[str, str] | None = None) -> Invoice:
    """A canonical Invoice from a QuickBooks Invoice written by Concord (PrivateNote "stripe:...").

    `customer_stripe_ids` maps QuickBooks customer Id -> Stripe customer id (from the cross-reference);
    an unknown customer gives customer_stripe_id "".
    """
    stripe_id = linked_ids(obj.get("PrivateNote")).get("stripe")
    if not stripe_id:
        raise MappingError(f"QuickBooks invoice {obj.get('Id')} has no 'stripe:' PrivateNote; not ours to map")
    currency = ((obj.get("CurrencyRef") or {}).get("value") or HOME_CURRENCY).upper()
    try:
        exponent(currency)
    except ValueError as exc:
        raise MappingError(f"invoice {stripe_id}: {exc}") from exc
    total = _money(obj.get("TotalAmt", 0), currency, f"invoice {stripe_id} TotalAmt")
    balance = _money(obj.get("Balance", obj.get("TotalAmt", 0)), currency, f"invoice {stripe_id} Balance")
    customer_id = str((obj.get("CustomerRef") or {}).get("value", ""))
    try:
        issued_on = date.fromisoformat(obj["TxnDate"])
        due_on = date.fromisoformat(obj["DueDate"]) if obj.get("DueDate") else None
    except (KeyError, ValueError) as exc:
        raise MappingError(f"invoice {stripe_id}: bad or missing date ({exc})") from exc
    item_lines = [line for line in obj.get("Line") or [] if line.get("DetailType") == "SalesItemLineDetail"]
    return Invoice(
        stripe_id=stripe_id,
        customer_stripe_id=(customer_stripe_ids or {}).get(customer_id, ""),
        number=obj.get("DocNumber"),
        status="paid" if balance.amount_minor == 0 and total.amount_minor > 0 else "open",
        total=total,
        issued_on=issued_on,
        due_on=due_on,
        lines=tuple(
            _line_from_quickbooks(stripe_id, position, line, currency)
            for position, line in enumerate(item_lines, start=1)
        ),
    )
