"""canonical/customers with an unusable Salesforce Account among good ones, on SQLite and PostgreSQL.

Input tried: two Stripe customers whose metadata names their Salesforce Accounts; one Account is fine,
the other has the currency code 'ZZZ' (no such ISO 4217 code). The bad Account goes to the dead letters
with its reason, its customer stays unlinked, and the good pair links.
"""

from __future__ import annotations

from dagster import materialize

from assets.canonical import canonical_customers
from assets.resources import HubResource
from store.hub import Hub

GOOD, BAD = "001000000000001AAA", "001000000000002AAA"


def _customer(stripe_id: str, salesforce_id: str) -> dict:
    return {"id": stripe_id, "object": "customer", "name": stripe_id, "email": f"{stripe_id}@example.com",
            "currency": "usd", "created": 1_700_000_000, "metadata": {"salesforce_account_id": salesforce_id}}


def test_an_unmappable_account_is_dead_lettered_and_the_rest_link(db_url):
    hub = Hub(db_url)
    hub.migrate()
    hub.land_raw("stripe", "customer", [("cus_good", _customer("cus_good", GOOD)),
                                        ("cus_bad", _customer("cus_bad", BAD))])
    hub.land_raw("salesforce", "account", [
        (GOOD, {"Id": GOOD, "Name": "Good Ltd", "CurrencyIsoCode": "USD"}),
        (BAD, {"Id": BAD, "Name": "Bad Ltd", "CurrencyIsoCode": "ZZZ"}),
    ])
    result = materialize([canonical_customers], resources={"hub": HubResource(database_url=db_url)})
    assert result.success
    letters = hub.dead_letters("salesforce", "account")
    assert [letter.external_id for letter in letters] == [BAD]
    assert "ZZZ" in letters[0].reason
    assert hub.links("customer", "salesforce") == {"cus_good": GOOD}
    assert {customer.stripe_id for customer in hub.customers()} == {"cus_good", "cus_bad"}
    hub.dispose()
