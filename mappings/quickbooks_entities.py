"""QuickBooks Online bodies for the entities beyond the skeleton's invoices (element names from Finance.xsd
and IntuitNamesTypes.xsd): Customer (full), Item, Payment (with Stripe's FX rate), RefundReceipt and
CreditMemo for refunds. Payouts and fees (Deposit, JournalEntry) are in mappings.accounting.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from mappings.canonical import Invoice, LineTax, MappingError
from mappings.codecs import BOOLEAN, QB_CURRENCY_REF, QB_MONEY, TEXT
from mappings.fields import Codec, Context, EntityMapping, Field
from mappings.fx import FxRate
from mappings.model.catalog import Price, Product
from mappings.model.party import Address, CustomerAccount
from mappings.model.payments import Payment, Refund
from mappings.money import to_quickbooks_amount, total
from mappings.quickbooks import (
    MAX_PAYMENT_REF_NUM,
    STRIPE_PREFIX,
    display_name,
    invoice_to_quickbooks,
    link_notes,
    linked_ids,
)

MAPPING_VERSION = 2
MAX_ITEM_NAME = 100

_ADDRESS = (("line1", "Line1"), ("line2", "Line2"), ("city", "City"), ("state", "CountrySubDivisionCode"),
            ("postal_code", "PostalCode"), ("country", "Country"))


def _address_in(value: Any, _ctx: Context) -> Address | None:
    address = Address(**{ours: value.get(theirs) or None for ours, theirs in _ADDRESS})
    return None if address.is_empty() else address


def _address_out(value: Address, _ctx: Context) -> dict:
    return {theirs: getattr(value, ours) for ours, theirs in _ADDRESS if getattr(value, ours) is not None}


PHYSICAL_ADDRESS = Codec("PhysicalAddress {Line1, Line2, City, CountrySubDivisionCode, PostalCode, Country}",
                         _address_in, _address_out)
DISPLAY_NAME = Codec("DisplayName (no ':' / tabs, 500 chars)", lambda value, _ctx: value,
                     lambda value, _ctx: display_name(value))

CUSTOMER = EntityMapping("quickbooks", "customer", "Customer", MAPPING_VERSION, (
    Field("ids.quickbooks", "Id", TEXT, writable=False),
    Field("name", "DisplayName", DISPLAY_NAME, required=True),
    Field("email", "PrimaryEmailAddr.Address", TEXT),
    Field("phone", "PrimaryPhone.FreeFormNumber", TEXT),
    Field("currency", "CurrencyRef", QB_CURRENCY_REF),
    Field("billing_address", "BillAddr", PHYSICAL_ADDRESS),
), notes=("Notes carries the links: 'stripe:<id>' and 'salesforce:<id>' lines (identity rule 1 and 2)",
          "the first tax id goes to PrimaryTaxIdentifier (write only: QuickBooks masks it on read)"))


def customer_account_to_quickbooks(account: CustomerAccount) -> dict:
    body = CUSTOMER.encode(account, {})
    body["CompanyName"] = display_name(account.name)[:100]
    if account.ids.get("stripe"):
        body["Notes"] = link_notes(account.ids["stripe"], account.ids.get("salesforce"))
    if account.tax_ids:
        body["PrimaryTaxIdentifier"] = account.tax_ids[0].value
    return body


def customer_account_from_quickbooks(obj: dict) -> CustomerAccount:
    where = f"QuickBooks customer {obj.get('Id')}"
    values = CUSTOMER.decode(obj, {}, where)
    values["ids"].update(linked_ids(obj.get("Notes")))
    return CustomerAccount(**values)


# -- items ----------------------------------------------------------------------------------------


def item_to_quickbooks(product: Product, price: Price, income_account: dict) -> dict:
    """A Service Item per Stripe price; Sku holds the price id (the key that finds it again)."""
    price_id = price.ids["stripe"]
    suffix = f" ({price.nickname or price_id})"
    body: dict = {
        "Name": display_name(product.name, suffix)[:MAX_ITEM_NAME] if len(product.name + suffix) > MAX_ITEM_NAME
        else display_name(product.name + suffix),
        "Sku": price_id,
        "Type": "Service",
        "Active": product.active and price.active,
        "IncomeAccountRef": dict(income_account),
    }
    if product.description:
        body["Description"] = product.description
    if price.unit_amount is not None:
        body["UnitPrice"] = to_quickbooks_amount(price.unit_amount)
    return body


ITEM = EntityMapping("quickbooks", "price", "Item", MAPPING_VERSION, (
    Field("ids.stripe", "Sku", TEXT),
    Field("ids.quickbooks", "Id", TEXT, writable=False),
    Field("product_name", "Name", TEXT),
    Field("product_description", "Description", TEXT),
    Field("unit_amount", "UnitPrice", QB_MONEY),
    Field("active", "Active", BOOLEAN),
), notes=("one Service Item per Stripe price: Name '<product> (<nickname or price id>)', IncomeAccountRef "
          "from configuration",))

# -- payments and refunds -------------------------------------------------------------------------


def quickbooks_exchange_rate(fx: FxRate | None, home_currency: str) -> Decimal | None:
    """QuickBooks' ExchangeRate is home-currency units per foreign unit: Stripe's rate when Stripe settled
    in the home currency; anything else has no rate Stripe recorded, and we never invent one."""
    if fx is None:
        return None
    if fx.target_currency != home_currency:
        raise MappingError(f"{fx.balance_transaction_id}: settled in {fx.target_currency}, books in {home_currency}",
                           field="exchange_rate", reason="settlement currency is not the home currency")
    return fx.rate


def payment_body(
    payment: Payment,
    customer_ref: str,
    invoice_qb_id: str | None,
    txn_date: date,
    deposit_account: dict,
    exchange_rate: Decimal | None = None,
) -> dict:
    """A Payment into the clearing account (DepositToAccountRef), applied to the invoice when known."""
    charge_id = payment.ids["stripe"]
    amount = to_quickbooks_amount(payment.amount)
    body: dict = {
        "CustomerRef": {"value": customer_ref},
        "CurrencyRef": {"value": payment.amount.currency},
        "TotalAmt": amount,
        "TxnDate": txn_date.isoformat(),
        "PaymentRefNum": charge_id[:MAX_PAYMENT_REF_NUM],
        "PrivateNote": STRIPE_PREFIX + charge_id,
        "DepositToAccountRef": dict(deposit_account),
        "Line": [],
    }
    if invoice_qb_id:
        body["Line"] = [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice_qb_id, "TxnType": "Invoice"}]}]
    if exchange_rate is not None:
        body["ExchangeRate"] = exchange_rate
    return body


def refund_receipt_body(
    refund: Refund, customer_ref: str, item_ref: dict, txn_date: date, refund_from_account: dict,
    exchange_rate: Decimal | None = None,
) -> dict:
    """A RefundReceipt for money paid back (partial or full) out of the clearing account.

    PrivateNote and PaymentRefNum carry the refund's own re_ id, never the charge's: one charge can have
    several partial refunds, and each must be found again on its own."""
    refund_id = refund.ids["stripe"]
    amount = to_quickbooks_amount(refund.amount)
    body: dict = {
        "CustomerRef": {"value": customer_ref},
        "CurrencyRef": {"value": refund.amount.currency},
        "TxnDate": txn_date.isoformat(),
        "PrivateNote": STRIPE_PREFIX + refund_id,
        "PaymentRefNum": refund_id[:MAX_PAYMENT_REF_NUM],
        "DepositToAccountRef": dict(refund_from_account),
        "Line": [{
            "Amount": amount,
            "Description": f"Refund {refund_id} of {refund.charge_stripe_id}",
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": dict(item_ref), "Qty": Decimal(1), "UnitPrice": amount},
        }],
        "TotalAmt": amount,
    }
    if exchange_rate is not None:
        body["ExchangeRate"] = exchange_rate
    return body


def credit_memo_body(refund: Refund, customer_ref: str, item_ref: dict, txn_date: date) -> dict:
    """A CreditMemo: the refund reduces what the customer owes instead of leaving the bank (credit note)."""
    body = refund_receipt_body(refund, customer_ref, item_ref, txn_date, {"value": ""})
    del body["DepositToAccountRef"], body["PaymentRefNum"]
    return body


def refund_id_from_quickbooks(obj: dict) -> str:
    """The Stripe refund id a RefundReceipt/CreditMemo written by Concord carries."""
    found = linked_ids(obj.get("PrivateNote")).get("stripe")
    if not found or not found.startswith(("re_", "pyr_")):
        raise MappingError(f"QuickBooks {obj.get('Id')}: PrivateNote has no Stripe refund id", field="PrivateNote",
                           reason="not ours")
    return found


# -- invoices with discounts and tax ---------------------------------------------------------------


def detailed_invoice_to_quickbooks(
    inv: Invoice, customer_ref: str, item_refs: Mapping[str, dict], default_item_ref: dict,
    discount_account_ref: dict | None = None,
) -> dict:
    """An Invoice body whose total equals Stripe's to the minor unit: each line booked to the Item of its
    price, one DiscountLineDetail line for Stripe's discounts, and TxnTaxDetail carrying Stripe's per-line
    rounded taxes summed per rate (QuickBooks must not recompute tax on the total, which rounds differently)."""
    body = invoice_to_quickbooks(inv, customer_ref, default_item_ref)
    for line, qb_line in zip(inv.lines, body["Line"], strict=True):
        if line.price_id and line.price_id in item_refs:
            qb_line["SalesItemLineDetail"]["ItemRef"] = dict(item_refs[line.price_id])
    discount = total([line.discount for line in inv.lines if line.discount is not None], inv.currency)
    if discount.amount_minor:
        detail: dict = {"PercentBased": False}
        if discount_account_ref:
            detail["DiscountAccountRef"] = dict(discount_account_ref)
        body["Line"].append({"Amount": to_quickbooks_amount(discount), "DetailType": "DiscountLineDetail",
                             "DiscountLineDetail": detail})
    exclusive = [tax for line in inv.lines for tax in line.taxes if not tax.inclusive]
    if exclusive:
        body["TxnTaxDetail"] = _tax_detail(exclusive, inv.currency)
        body["GlobalTaxCalculation"] = "TaxExcluded"
    return body


def _tax_detail(taxes: list[LineTax], currency: str) -> dict:
    groups: dict[tuple[str | None, Decimal | None], list[LineTax]] = {}
    for tax in taxes:
        groups.setdefault((tax.rate_id, tax.percentage), []).append(tax)
    tax_lines = []
    for (rate_id, percentage), members in groups.items():
        detail: dict = {
            "PercentBased": percentage is not None,
            "NetAmountTaxable": to_quickbooks_amount(total([t.taxable_amount for t in members], currency)),
        }
        if percentage is not None:
            detail["TaxPercent"] = percentage
        if rate_id:
            detail["TaxRateRef"] = {"value": rate_id}
        tax_lines.append({"Amount": to_quickbooks_amount(total([t.amount for t in members], currency)),
                          "DetailType": "TaxLineDetail", "TaxLineDetail": detail})
    return {"TotalTax": to_quickbooks_amount(total([t.amount for t in taxes], currency)), "TaxLine": tax_lines}


def quickbooks_invoice_total(body: dict) -> Decimal:
    """What QuickBooks will show as TotalAmt for a body (sales lines - discount + TotalTax)."""
    sales = sum((line["Amount"] for line in body["Line"] if line["DetailType"] == "SalesItemLineDetail"), Decimal(0))
    discount = sum((line["Amount"] for line in body["Line"] if line["DetailType"] == "DiscountLineDetail"),
                   Decimal(0))
    return sales - discount + (body.get("TxnTaxDetail") or {}).get("TotalTax", Decimal(0))
