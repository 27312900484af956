"""Golden tests from sandbox data: objects a billing team creates through the real SDKs, mapped.

Where the fixture-based golden tests check shapes, these check meaning across objects: the payment of
a subscription's invoice equals the invoice total, a partial refund keeps its own `re_` id and amount,
a balance transaction's fee plus net is its amount, and Salesforce's seeded records map cleanly.
"""

from __future__ import annotations

import pytest
import stripe

from connectors.http_session import session_trusting
from connectors.stripe import http_client_trusting
from mappings.salesforce_entities import account_record_from_salesforce, contact_from_salesforce
from mappings.stripe import invoice_from_stripe
from mappings.stripe_balance import balance_transaction_from_stripe
from mappings.stripe_catalog import price_from_stripe, product_from_stripe
from mappings.stripe_payments import payment_from_payment_intent, refund_from_stripe
from mappings.stripe_subscriptions import subscription_from_stripe
from sandboxes.runner import start_sandboxes


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory):
    running = start_sandboxes(["stripe", "salesforce"], state_dir=tmp_path_factory.mktemp("ca"),
                              vendor_limits=False)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(sandboxes):
    env = sandboxes.environment()
    return stripe.StripeClient(env["STRIPE_API_KEY"], base_addresses={"api": env["STRIPE_API_BASE"]},
                               http_client=http_client_trusting(env["CONCORD_CA_BUNDLE"]))


def test_a_subscription_month_maps_consistently(client):
    """Input: a USD monthly plan, a customer paying with pm_card_visa, the subscription's first invoice,
    then a partial refund of 500 cents; every object read back through the SDK and mapped."""
    product = client.v1.products.create({"name": "Golden plan"})
    price = client.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 4900,
                                     "recurring": {"interval": "month"}})
    customer = client.v1.customers.create({"name": "Golden O'Brien", "payment_method": "pm_card_visa",
                                           "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    subscription = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})

    assert product_from_stripe(product.to_dict()).ids["stripe"] == product.id
    canonical_price = price_from_stripe(price.to_dict())
    assert canonical_price.unit_amount.amount_minor == 4900 and canonical_price.unit_amount.currency == "USD"
    canonical_subscription = subscription_from_stripe(subscription.to_dict())
    assert canonical_subscription.customer_stripe_id == customer.id
    assert [item.price_stripe_id for item in canonical_subscription.items] == [price.id]

    (invoice,) = client.v1.invoices.list({"subscription": subscription.id}).data
    assert [i.id for i in client.v1.invoices.list({"customer": customer.id}).data] == [invoice.id]
    canonical_invoice = invoice_from_stripe(invoice.to_dict(), {customer.id})
    assert canonical_invoice.total.amount_minor == 4900 and canonical_invoice.status == "paid"

    (intent,) = client.v1.payment_intents.list({"customer": customer.id}).data
    payment = payment_from_payment_intent(intent.to_dict())
    assert payment.amount == canonical_invoice.total

    refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 500})
    canonical_refund = refund_from_stripe(refund.to_dict())
    assert canonical_refund.ids["stripe"].startswith("re_") and canonical_refund.amount.amount_minor == 500

    for transaction in client.v1.balance_transactions.list({"limit": 100}).data:
        canonical = balance_transaction_from_stripe(transaction.to_dict())
        assert canonical.fee + canonical.net == canonical.amount


def test_seeded_salesforce_accounts_and_contacts_map(sandboxes):
    """Input: every seeded Account and Contact, read with SOQL over HTTPS."""
    env = sandboxes.environment()
    session = session_trusting(env["CONCORD_CA_BUNDLE"])
    headers = {"Authorization": f"Bearer {env['SALESFORCE_ACCESS_TOKEN']}"}
    base = env["SALESFORCE_INSTANCE_URL"] + "/services/data/v59.0/query"
    accounts = session.get(base, params={"q": "SELECT Id, Name, CurrencyIsoCode, Stripe_Customer_Id__c FROM Account"},
                           headers=headers).json()["records"]
    contacts = session.get(base, params={"q": "SELECT Id, FirstName, LastName, Email, AccountId FROM Contact"},
                           headers=headers).json()["records"]
    mapped = [account_record_from_salesforce(record) for record in accounts]
    assert {account.ids["salesforce"] for account in mapped} == {record["Id"] for record in accounts}
    assert any(account.name == 'O\'Brien \\ "x"' for account in mapped)
    assert all(contact_from_salesforce(record).ids["salesforce"].startswith("003") for record in contacts)
