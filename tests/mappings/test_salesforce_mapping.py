"""Pure mapping between Salesforce Account records and Concord's canonical records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mappings.canonical import Customer, MappingError
from mappings.salesforce import Account, account_fields_from_customer, account_from_salesforce, parse_datetime

RECORD = {
    "attributes": {"type": "Account", "url": "/services/data/v59.0/sobjects/Account/001OhbVrpoiVgRV5If"},
    "Id": "001OhbVrpoiVgRV5If",
    "Name": 'O\'Brien \\ "x"',
    "Stripe_Customer_Id__c": "cus_LBcbfnoGMbJmTP",
    "CurrencyIsoCode": "USD",
    "LastModifiedDate": "2026-01-01T00:00:00.000+0000",
}


def test_account_from_a_query_record():
    """Input: a SOQL record with attributes, a tricky name and every mapped field."""
    account = account_from_salesforce(RECORD)
    assert account == Account(
        salesforce_id=RECORD["Id"], name='O\'Brien \\ "x"', stripe_customer_id="cus_LBcbfnoGMbJmTP", currency="USD"
    )
    assert account.as_dict() == {
        "salesforce_id": RECORD["Id"], "name": 'O\'Brien \\ "x"',
        "stripe_customer_id": "cus_LBcbfnoGMbJmTP", "currency": "USD",
    }


def test_account_without_stripe_id_or_currency():
    """Input: an Account not yet linked to Stripe (null external id) in a single-currency org (no CurrencyIsoCode)."""
    record = {"Id": "001Aa000000BDyC", "Name": "Unlinked", "Stripe_Customer_Id__c": None}
    assert account_from_salesforce(record) == Account("001Aa000000BDyC", "Unlinked", None, None)


@pytest.mark.parametrize(
    "change",
    [{"Id": None}, {"Id": "001short"}, {"Name": "  "}, {"Name": None}, {"CurrencyIsoCode": "XYZ"}],
)
def test_unusable_records_raise_mapping_error(change):
    """Input: the record with a missing/short Id, a blank Name, or an unknown currency."""
    with pytest.raises(MappingError):
        account_from_salesforce({**RECORD, **change})


def test_upsert_body_from_customer_leaves_out_the_key_and_upper_cases_currency():
    """Input: a Stripe-side customer with a lower-case currency, as Stripe writes it."""
    customer = Customer(stripe_id="cus_1", name="Zoë Müller GmbH", email="a@b.example", currency="eur")
    assert account_fields_from_customer(customer) == {"Name": "Zoë Müller GmbH", "CurrencyIsoCode": "EUR"}


def test_upsert_body_without_currency_and_with_unknown_currency():
    """Input: a customer with no currency (field left out, so Salesforce keeps its own) and one with 'zzz'."""
    assert account_fields_from_customer(Customer(stripe_id="cus_2", name="No Currency")) == {"Name": "No Currency"}
    with pytest.raises(MappingError):
        account_fields_from_customer(Customer(stripe_id="cus_3", name="Bad", currency="zzz"))


def test_parse_salesforce_datetime():
    """Input: Salesforce's wire datetime with milliseconds and +0000, and an ISO string it does not use."""
    assert parse_datetime("2026-01-01T01:02:03.456+0000") == datetime(2026, 1, 1, 1, 2, 3, 456000, tzinfo=UTC)
    with pytest.raises(MappingError):
        parse_datetime("2026-01-01")
