"""customer_params_for_account: the create params of the Stripe customer made for a won Salesforce Account."""

from __future__ import annotations

import pytest

from mappings.canonical import MappingError
from mappings.model.party import Address, CustomerAccount
from mappings.salesforce_entities import account_record_from_salesforce
from mappings.stripe_accounts import customer_params_for_account


def test_name_phone_and_the_account_id_in_metadata():
    """Input: an Account read from Salesforce with a non-ASCII name, a phone, a BillingCountry in words and
    no Stripe id. Expect name, phone and metadata["salesforce_account_id"]; no address, currency or id."""
    account = account_record_from_salesforce({
        "Id": "0015g00000AbCdEAAV", "Name": "Łódź O'Brien \\ \"x\" Sp. z o.o.", "Phone": "+48 42 555 0100",
        "CurrencyIsoCode": "PLN", "BillingCountry": "Poland", "Stripe_Customer_Id__c": None,
    })
    assert customer_params_for_account(account) == {
        "name": "Łódź O'Brien \\ \"x\" Sp. z o.o.", "phone": "+48 42 555 0100",
        "metadata": {"salesforce_account_id": "0015g00000AbCdEAAV"},
    }


def test_metadata_of_the_account_is_kept_and_the_id_wins():
    """Input: a canonical account whose metadata already has keys, one of them a stale salesforce_account_id."""
    account = CustomerAccount(ids={"salesforce": "0015g00000AbCdEAAV"}, name="Acme", email="ap@acme.example",
                              billing_address=Address(country="US"),
                              metadata={"segment": "smb", "salesforce_account_id": "001OLD"})
    assert customer_params_for_account(account) == {
        "name": "Acme", "email": "ap@acme.example",
        "metadata": {"segment": "smb", "salesforce_account_id": "0015g00000AbCdEAAV"},
    }


@pytest.mark.parametrize(("account", "field"), [
    (CustomerAccount(ids={"stripe": "cus_1"}, name="No Salesforce id"), "Id"),
    (CustomerAccount(ids={"salesforce": "0015g00000AbCdEAAV"}, name="   "), "Name"),
])
def test_an_account_stripe_could_not_trace_back_is_refused(account, field):
    """Input: an account without its Salesforce Id, and one with a blank Name. Expect MappingError naming the field."""
    with pytest.raises(MappingError) as refused:
        customer_params_for_account(account)
    assert refused.value.field == field
