"""Stripe customers (with address and tax ids) <-> canonical CustomerAccount.

The Salesforce Account Id travels in metadata["salesforce_account_id"]; it is lifted out of the
canonical `metadata` into `ids["salesforce"]`, and written back there.
"""

from __future__ import annotations

from typing import Any

from mappings.canonical import MappingError
from mappings.codecs import CURRENCY_LOWER, METADATA, TEXT
from mappings.fields import Codec, Context, EntityMapping, Field
from mappings.model.party import Address, CustomerAccount, TaxId
from mappings.stripe_common import MAPPING_VERSION, SALESFORCE_ID_KEY, list_data, object_id, stripe_list

_ADDRESS_KEYS = ("line1", "line2", "city", "state", "postal_code", "country")


def _address_in(value: Any, _ctx: Context) -> Address | None:
    address = Address(**{key: value.get(key) or None for key in _ADDRESS_KEYS})
    return None if address.is_empty() else address


ADDRESS = Codec("{line1, line2, city, state, postal_code, country}", _address_in,
                lambda value, _ctx: {key: getattr(value, key) for key in _ADDRESS_KEYS})


def _tax_ids_in(value: Any, _ctx: Context) -> tuple[TaxId, ...]:
    return tuple(TaxId(type=item["type"], value=item["value"], country=item.get("country"), stripe_id=item.get("id"))
                 for item in value)


def _tax_ids_out(value: tuple[TaxId, ...], _ctx: Context) -> list[dict]:
    return [{"object": "tax_id", "id": tax.stripe_id, "type": tax.type, "value": tax.value, "country": tax.country}
            for tax in value]


TAX_IDS = Codec("[{type, value, country}] (expand[]=tax_ids)", _tax_ids_in, _tax_ids_out)

CUSTOMER = EntityMapping("stripe", "customer", "customer", MAPPING_VERSION, (
    Field("ids.stripe", "id", TEXT, required=True, writable=False),
    Field("name", "name", TEXT),
    Field("email", "email", TEXT),
    Field("phone", "phone", TEXT),
    Field("currency", "currency", CURRENCY_LOWER, writable=False),
    Field("billing_address", "address", ADDRESS),
    Field("tax_exempt", "tax_exempt", TEXT),
    Field("metadata", "metadata", METADATA),
    Field("ids.salesforce", f"metadata.{SALESFORCE_ID_KEY}", TEXT),
    Field("tax_ids", "tax_ids.data", TAX_IDS, writable=False),
), notes=("tax ids are present only when the customer is fetched with expand[]=tax_ids",
          "contacts are Salesforce Contacts; Stripe has none"))


def customer_account_from_stripe(obj: dict) -> CustomerAccount:
    customer_id = object_id(obj, "customer")
    list_data(obj.get("tax_ids"), customer_id, "tax_ids")  # refuses a partial list
    values = CUSTOMER.decode(obj, {}, customer_id)
    values["name"] = values["name"] or ""
    values["tax_exempt"] = values["tax_exempt"] or "none"
    values["tax_ids"] = values["tax_ids"] or ()
    values["metadata"] = {k: v for k, v in (values["metadata"] or {}).items() if k != SALESFORCE_ID_KEY}
    return CustomerAccount(**values)


def customer_account_to_stripe(account: CustomerAccount, writable_only: bool = False) -> dict:
    """The customer object (or, with writable_only, create/update params: no id, currency or tax ids)."""
    body = CUSTOMER.encode(account, {}, writable_only=writable_only)
    if writable_only:
        return body
    if "tax_ids" in body:
        body["tax_ids"] = stripe_list(body["tax_ids"]["data"], f"/v1/customers/{account.ids.get('stripe')}/tax_ids")
    return {"object": "customer", **body}


# What a customer Concord creates for a Salesforce Account carries. The billing address stays out: Salesforce's
# BillingCountry is free text ("Germany") where Stripe wants an ISO 3166-1 alpha-2 code, and the tax exemption
# is Stripe's own default until finance sets it there.
CREATE_FROM_ACCOUNT_FIELDS = ("name", "email", "phone")


def customer_params_for_account(account: CustomerAccount) -> dict:
    """Create params of the Stripe customer for a Salesforce Account (a won deal made it one): name, email and
    phone from the account, its metadata, and the Account Id in metadata[SALESFORCE_ID_KEY], where every later
    lookup (Stripe search, the mappings' identity rule) finds it."""
    salesforce_id = account.ids.get("salesforce")
    if not salesforce_id:
        raise MappingError("a Stripe customer for a Salesforce Account needs the Account Id", field="Id",
                           reason="missing")
    if not account.name.strip():
        raise MappingError(f"Salesforce Account {salesforce_id} has no Name", field="Name", reason="missing")
    body = customer_account_to_stripe(account, writable_only=True)
    params = {key: body[key] for key in CREATE_FROM_ACCOUNT_FIELDS if body.get(key)}
    params["metadata"] = {**body.get("metadata", {}), SALESFORCE_ID_KEY: salesforce_id}
    return params
