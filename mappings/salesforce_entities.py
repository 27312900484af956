"""Salesforce sObjects <-> canonical records: Account (full), Contact, Product2, PricebookEntry, Opportunity.

Currency fields are Decimal major units in the record's CurrencyIsoCode, read with explicit half-even
rounding (Salesforce keeps whatever precision the API wrote). External-id fields carry the Stripe ids
and are the upsert keys.
"""

from __future__ import annotations

from typing import Any

from mappings.canonical import MappingError
from mappings.codecs import BOOLEAN, CURRENCY_UPPER, SF_CURRENCY, SF_DATE, TEXT
from mappings.fields import Codec, Context, EntityMapping, Field
from mappings.model.catalog import Price, Product
from mappings.model.deal import Deal
from mappings.model.party import Address, Contact, CustomerAccount
from mappings.money import UnknownCurrency, normalize_currency

MAPPING_VERSION = 2
STRIPE_CUSTOMER_FIELD = "Stripe_Customer_Id__c"
STRIPE_PRODUCT_FIELD = "Stripe_Product_Id__c"
STRIPE_PRICE_FIELD = "Stripe_Price_Id__c"
STRIPE_SUBSCRIPTION_FIELD = "Stripe_Subscription_Id__c"

_BILLING = (("line1", "BillingStreet"), ("city", "BillingCity"), ("state", "BillingState"),
            ("postal_code", "BillingPostalCode"), ("country", "BillingCountry"))


def _where(obj: dict, sobject: str) -> str:
    return f"Salesforce {sobject} {obj.get('Id')}"


def _record_id(obj: Any, sobject: str) -> str:
    if not isinstance(obj, dict):
        raise MappingError(f"expected a Salesforce {sobject} record", field="Id")
    found = obj.get("Id")
    if not isinstance(found, str) or len(found) not in (15, 18):
        raise MappingError(f"Salesforce {sobject} without a valid Id: {found!r}", field="Id", reason="invalid Id")
    return found


def _currency(obj: dict, where: str) -> str | None:
    if obj.get("CurrencyIsoCode") is None:
        return None
    try:
        return normalize_currency(obj["CurrencyIsoCode"])
    except UnknownCurrency as exc:
        raise MappingError(f"{where}: {exc}", field="CurrencyIsoCode", reason=str(exc)) from exc


ACCOUNT = EntityMapping("salesforce", "customer", "Account", MAPPING_VERSION, (
    Field("ids.salesforce", "Id", TEXT, required=True, writable=False),
    Field("name", "Name", TEXT, required=True),
    Field("ids.stripe", STRIPE_CUSTOMER_FIELD, TEXT),
    Field("phone", "Phone", TEXT),
    Field("currency", "CurrencyIsoCode", CURRENCY_UPPER),
    Field("billing_address.line1", "BillingStreet", TEXT),
    Field("billing_address.city", "BillingCity", TEXT),
    Field("billing_address.state", "BillingState", TEXT),
    Field("billing_address.postal_code", "BillingPostalCode", TEXT),
    Field("billing_address.country", "BillingCountry", TEXT),
), notes=("BillingStreet holds line1 and line2 joined by a newline",))


def account_record_from_salesforce(obj: dict) -> CustomerAccount:
    _record_id(obj, "Account")
    where = _where(obj, "Account")
    _currency(obj, where)
    if not (obj.get("Name") or "").strip():
        raise MappingError(f"{where} has no Name", field="Name", reason="missing")
    values = ACCOUNT.decode(obj, {}, where)
    street = values["billing_address"].pop("line1", None) or ""
    line1, _, line2 = street.partition("\n")
    address = Address(line1=line1 or None, line2=line2 or None, **values["billing_address"])
    values["billing_address"] = None if address.is_empty() else address
    return CustomerAccount(**values)


def account_record_to_salesforce(account: CustomerAccount, writable_only: bool = False) -> dict:
    address = account.billing_address
    # The table's billing_address.* rows read a dict; give them one, with line1+line2 as BillingStreet.
    flat = {key: getattr(address, key) for key in ("city", "state", "postal_code", "country")} if address else {}
    if address and (address.line1 or address.line2):
        flat["line1"] = "\n".join(part for part in (address.line1, address.line2) if part)
    view = _View(account, billing_address=flat)
    return ACCOUNT.encode(view, {}, writable_only=writable_only)


class _View:
    """A record with some attributes replaced (for encoding a reshaped attribute through a table)."""

    def __init__(self, record: Any, **overrides: Any) -> None:
        self._record, self._overrides = record, overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides[name] if name in self._overrides else getattr(self._record, name)


CONTACT = EntityMapping("salesforce", "contact", "Contact", MAPPING_VERSION, (
    Field("ids.salesforce", "Id", TEXT, required=True, writable=False),
    Field("first_name", "FirstName", TEXT),
    Field("last_name", "LastName", TEXT, required=True),
    Field("email", "Email", TEXT),
    Field("phone", "Phone", TEXT),
    Field("account_salesforce_id", "AccountId", TEXT),
))


def contact_from_salesforce(obj: dict) -> Contact:
    _record_id(obj, "Contact")
    return Contact(**CONTACT.decode(obj, {}, _where(obj, "Contact")))


def contact_to_salesforce(contact: Contact) -> dict:
    return CONTACT.encode(contact, {})


PRODUCT2 = EntityMapping("salesforce", "product", "Product2", MAPPING_VERSION, (
    Field("ids.salesforce", "Id", TEXT, writable=False),
    Field("ids.stripe", STRIPE_PRODUCT_FIELD, TEXT, required=True),
    Field("name", "Name", TEXT, required=True),
    Field("description", "Description", TEXT),
    Field("active", "IsActive", BOOLEAN),
    Field("unit_label", "QuantityUnitOfMeasure", TEXT),
))


def product_from_salesforce(obj: dict) -> Product:
    values = PRODUCT2.decode(obj, {}, _where(obj, "Product2"))
    values["active"] = True if values["active"] is None else values["active"]
    return Product(**values)


def product_to_salesforce(product: Product) -> dict:
    return PRODUCT2.encode(product, {})


PRICEBOOK_ENTRY = EntityMapping("salesforce", "price", "PricebookEntry", MAPPING_VERSION, (
    Field("ids.salesforce", "Id", TEXT, writable=False),
    Field("ids.stripe", STRIPE_PRICE_FIELD, TEXT, required=True),
    Field("currency", "CurrencyIsoCode", CURRENCY_UPPER, required=True),
    Field("unit_amount", "UnitPrice", SF_CURRENCY),
    Field("active", "IsActive", BOOLEAN),
), notes=("Product2Id and Pricebook2Id come from the cross-reference (the product's Salesforce id, the "
          "configured price book)",))


def price_from_salesforce(obj: dict, product_stripe_id: str) -> Price:
    where = _where(obj, "PricebookEntry")
    currency = _currency(obj, where)
    values = PRICEBOOK_ENTRY.decode(obj, {"currency": currency}, where)
    values["active"] = True if values["active"] is None else values["active"]
    return Price(product_stripe_id=product_stripe_id, **values)


def price_to_salesforce(price: Price, product2_id: str, pricebook2_id: str) -> dict:
    if price.unit_amount is None:
        raise MappingError(f"{price.ids.get('stripe')}: a tiered price has no single UnitPrice for Salesforce",
                           field="unit_amount", reason="tiered")
    return {**PRICEBOOK_ENTRY.encode(price, {}), "Product2Id": product2_id, "Pricebook2Id": pricebook2_id}


def _won_in(value: Any, _ctx: Context) -> bool:
    return bool(value)


OPPORTUNITY = EntityMapping("salesforce", "deal", "Opportunity", MAPPING_VERSION, (
    Field("ids.salesforce", "Id", TEXT, required=True, writable=False),
    Field("ids.stripe", STRIPE_SUBSCRIPTION_FIELD, TEXT),
    Field("account_salesforce_id", "AccountId", TEXT, required=True),
    Field("name", "Name", TEXT, required=True),
    Field("stage", "StageName", TEXT, required=True),
    Field("close_date", "CloseDate", SF_DATE, required=True),
    Field("amount", "Amount", SF_CURRENCY),
    Field("is_won", "IsWon", Codec("boolean (read only)", _won_in, lambda value, _ctx: value), writable=False),
))


def deal_from_salesforce(obj: dict) -> Deal:
    _record_id(obj, "Opportunity")
    where = _where(obj, "Opportunity")
    currency = _currency(obj, where)
    if obj.get("Amount") is not None and currency is None:
        raise MappingError(f"{where}: Amount without CurrencyIsoCode", field="CurrencyIsoCode", reason="missing")
    values = OPPORTUNITY.decode(obj, {"currency": currency}, where)
    values["is_won"] = bool(values["is_won"])
    return Deal(**values)


def deal_to_salesforce(deal: Deal, writable_only: bool = False) -> dict:
    body = OPPORTUNITY.encode(deal, {}, writable_only=writable_only)
    if deal.amount is not None:
        body["CurrencyIsoCode"] = deal.amount.currency
    return body
