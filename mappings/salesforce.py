"""Salesforce Account <-> canonical records (pure functions, no I/O).

Salesforce is the master of company identity (the Account Id and Name); the Stripe customer id
lives on the Account in the `Stripe_Customer_Id__c` external-id field, which is also the upsert key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from mappings.canonical import Customer, MappingError
from mappings.money import UnknownCurrency, normalize_currency

STRIPE_ID_FIELD = "Stripe_Customer_Id__c"
SALESFORCE_DATETIME = "%Y-%m-%dT%H:%M:%S.%f%z"  # 2026-01-01T00:00:00.000+0000


@dataclass(frozen=True)
class Account:
    salesforce_id: str
    name: str
    stripe_customer_id: str | None
    currency: str | None  # upper-case ISO 4217, as Salesforce's CurrencyIsoCode

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def account_from_salesforce(obj: dict[str, Any]) -> Account:
    """An Account from a REST/SOQL record (with or without `attributes`); MappingError if unusable."""
    salesforce_id = obj.get("Id")
    if not isinstance(salesforce_id, str) or len(salesforce_id) not in (15, 18):
        raise MappingError(f"Salesforce Account without a valid Id: {salesforce_id!r}")
    name = obj.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise MappingError(f"Salesforce Account {salesforce_id} has no Name")
    return Account(
        salesforce_id=salesforce_id,
        name=name,
        stripe_customer_id=obj.get(STRIPE_ID_FIELD) or None,  # Salesforce returns null for an empty text field
        currency=_currency(obj.get("CurrencyIsoCode"), salesforce_id),
    )


def account_fields_from_customer(customer: Customer) -> dict[str, Any]:
    """The body of an upsert keyed by the customer's Stripe id (so the key itself is not in the body)."""
    fields: dict[str, Any] = {"Name": customer.name}
    if customer.currency is not None:
        try:
            fields["CurrencyIsoCode"] = normalize_currency(customer.currency)
        except UnknownCurrency as exc:
            raise MappingError(f"customer {customer.stripe_id}: {exc}") from exc
    return fields


def _currency(value: Any, salesforce_id: str) -> str | None:
    if value is None:
        return None
    try:
        return normalize_currency(value)
    except UnknownCurrency as exc:
        raise MappingError(f"Salesforce Account {salesforce_id}: {exc}") from exc


def parse_datetime(value: str) -> datetime:
    """A Salesforce datetime (CreatedDate, SystemModstamp...) as an aware datetime, e.g. for cursors."""
    try:
        return datetime.strptime(value, SALESFORCE_DATETIME)
    except (TypeError, ValueError) as exc:
        raise MappingError(f"not a Salesforce datetime: {value!r}") from exc
