"""The Salesforce sandbox's sObjects beyond Account: seeded shapes, describe, relationship SOQL,
object rules, cascade deletes, getUpdated/getDeleted and the sandbox clock, over real HTTPS."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceMalformedRequest, format_soql

from sandboxes.salesforce import SalesforceSandbox
from sandboxes.salesforce.ids import checksum
from tests.sandboxes.salesforce_clients import sdk, session_trusting

API = "/services/data/v59.0"


def fresh_session(sf_sandbox) -> Salesforce:
    """A new session from the OAuth password flow, for after the clock has aged the old one out."""
    session = session_trusting(sf_sandbox.bundle)
    app = session.get(sf_sandbox.base_url + "/_sandbox/oauth", timeout=10).json()
    token = session.post(sf_sandbox.base_url + "/services/oauth2/token", timeout=10, data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": app["username"], "password": app["password"]}).json()
    return sdk(token["instance_url"], token["access_token"], session)


@pytest.fixture
def control(sf_sandbox, sf):
    session = session_trusting(sf_sandbox.bundle)

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return session.request(method, sf_sandbox.base_url + "/_sandbox" + path, timeout=10, **kwargs)

    return call


def test_seeded_org_has_contacts_opportunities_and_the_standard_price_book(sf, seed):
    """Input: queries of each seeded object; two Contacts and a Closed Won deal per Account."""
    contacts = sf.query_all("SELECT Id, AccountId, Name, FirstName, LastName, Email FROM Contact")["records"]
    assert len(contacts) == 2 * len(seed.accounts)
    assert all(c["Id"].startswith("003") and c["Id"][15:] == checksum(c["Id"][:15]) for c in contacts)
    assert all(c["Name"] == f"{c['FirstName']} {c['LastName']}" for c in contacts)
    won = sf.query_all("SELECT Id, AccountId, Amount, IsWon, IsClosed, CloseDate, CurrencyIsoCode FROM Opportunity "
                       "WHERE StageName = 'Closed Won'")["records"]
    assert {o["AccountId"] for o in won} == {a.salesforce_id for a in seed.accounts}
    assert all(o["IsWon"] and o["IsClosed"] and o["Id"].startswith("006") for o in won)
    assert all(isinstance(o["Amount"], Decimal) and o["Amount"] > 0 for o in won)
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE IsClosed = false")["totalSize"] > 0
    [book] = sf.query("SELECT Id, Name, IsStandard, IsActive FROM Pricebook2")["records"]
    assert book["Id"].startswith("01s") and book["IsStandard"] and book["Name"] == "Standard Price Book"


def test_seeded_records_are_the_same_for_the_same_seed(sf_sandbox, sf, seed, tmp_path):
    """Input: a second sandbox built from the same seed; every Contact and Opportunity row must match."""
    other = SalesforceSandbox(seed)
    for sobject in ("Contact", "Opportunity"):
        assert other.state.snapshot(sobject) == sf_sandbox.state.snapshot(sobject)


def test_describe_every_object_with_its_custom_fields(sf):
    """Input: describe of each object and the describeGlobal list."""
    names = {entry["name"]: entry["keyPrefix"] for entry in sf.describe()["sobjects"]}
    assert names == {"Account": "001", "Contact": "003", "Opportunity": "006", "Product2": "01t",
                     "Pricebook2": "01s", "PricebookEntry": "01u"}
    product = {f["name"]: f for f in sf.Product2.describe()["fields"]}
    assert product["Stripe_Product_Id__c"]["externalId"] and product["Stripe_Product_Id__c"]["unique"]
    entry = {f["name"]: f for f in sf.PricebookEntry.describe()["fields"]}
    assert entry["Stripe_Price_Id__c"]["externalId"] and entry["Product2Id"]["referenceTo"] == ["Product2"]
    opportunity = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    assert "Closed Won" in [value["value"] for value in opportunity["StageName"]["picklistValues"]]
    assert opportunity["AccountId"]["relationshipName"] == "Account"
    assert opportunity["IsWon"]["calculated"] and not opportunity["IsWon"]["updateable"]
    assert opportunity["Amount"]["type"] == "currency" and opportunity["CloseDate"]["type"] == "date"


def test_parent_fields_nest_under_the_relationship_name(sf, seed):
    """Input: SELECT Name, Account.Name, Account.Stripe_Customer_Id__c FROM Opportunity filtered on a parent field."""
    account = seed.accounts[1]
    soql = format_soql("SELECT Name, Account.Name, Account.Stripe_Customer_Id__c FROM Opportunity "
                       "WHERE Account.Stripe_Customer_Id__c = {} AND IsWon = true", account.stripe_customer_id)
    [record] = sf.query(soql)["records"]
    assert record["Account"] == {
        "attributes": {"type": "Account", "url": f"{API}/sobjects/Account/{account.salesforce_id}"},
        "Name": account.name, "Stripe_Customer_Id__c": account.stripe_customer_id,
    }
    assert record["attributes"]["type"] == "Opportunity"
    count = sf.query(format_soql("SELECT COUNT() FROM Contact WHERE Account.Name = {}", account.name))
    assert count["totalSize"] == 2


def test_a_missing_parent_is_null_and_parent_fields_sort(sf):
    """Input: a Contact with no Account, then ORDER BY Account.Name NULLS FIRST."""
    orphan = sf.Contact.create({"LastName": "Orphan"})["id"]
    records = sf.query("SELECT Id, Account.Name FROM Contact ORDER BY Account.Name NULLS FIRST")["records"]
    assert records[0]["Id"] == orphan and records[0]["Account"] is None
    names = [r["Account"]["Name"] for r in records[1:]]
    assert names == sorted(names, key=str.casefold)


def test_unknown_relationship_and_bad_syntax_are_refused(sf):
    """Input: a relationship that does not exist, and a query the parser does not understand."""
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.query("SELECT Owner__r.Name FROM Opportunity")
    assert unknown.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT Id FROM Opportunity GROUP BY StageName")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_stage_drives_is_won_and_probability(sf, seed):
    """Input: a new Opportunity in Prospecting, then moved to Closed Won; then a write to IsWon itself."""
    created = sf.Opportunity.create({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31",
                                     "AccountId": seed.accounts[0].salesforce_id, "Amount": "1234.50"})
    record = sf.Opportunity.get(created["id"])
    assert (record["IsWon"], record["IsClosed"], record["Probability"], record["Amount"]) == (
        False, False, 10, Decimal("1234.50"))
    sf.Opportunity.update(created["id"], {"StageName": "Closed Won"})
    record = sf.Opportunity.get(created["id"])
    assert (record["IsWon"], record["IsClosed"], record["Probability"]) == (True, True, 100)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Opportunity.update(created["id"], {"IsWon": False})
    assert refused.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_required_fields_and_bad_references(sf, seed):
    """Input: an Opportunity without CloseDate, a Contact pointing at an Opportunity Id, and one at no record."""
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Opportunity.create({"Name": "No date", "StageName": "Prospecting"})
    assert missing.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    opportunity_id = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as wrong_type:
        sf.Contact.create({"LastName": "X", "AccountId": opportunity_id})
    assert wrong_type.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    with pytest.raises(SalesforceMalformedRequest) as dangling:
        sf.Contact.create({"LastName": "X", "AccountId": "001" + "0" * 12 + "AAA"})
    assert dangling.value.content[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_products_and_price_book_entries_follow_salesforce_rules(sf):
    """Input: a Product2 upserted by Stripe id, a custom-book price before the standard one, then both, then a
    duplicate standard price."""
    standard = sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"][0]["Id"]
    assert sf.Product2.upsert("Stripe_Product_Id__c/prod_SEATS", {"Name": "Seats", "IsActive": True}) == 201
    product = sf.Product2.get_by_custom_id("Stripe_Product_Id__c", "prod_SEATS")
    assert product["Id"].startswith("01t")
    custom = sf.Pricebook2.create({"Name": "Partners", "IsActive": True})["id"]
    entry = {"Product2Id": product["Id"], "UnitPrice": "49.00", "CurrencyIsoCode": "EUR", "IsActive": True}
    with pytest.raises(SalesforceMalformedRequest) as no_standard:
        sf.PricebookEntry.create({**entry, "Pricebook2Id": custom})
    assert no_standard.value.content[0]["errorCode"] == "STANDARD_PRICE_NOT_DEFINED"
    assert sf.PricebookEntry.upsert("Stripe_Price_Id__c/price_EUR", {**entry, "Pricebook2Id": standard}) == 201
    sf.PricebookEntry.create({**entry, "Pricebook2Id": custom, "UnitPrice": 39})
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.PricebookEntry.create({**entry, "Pricebook2Id": standard})
    assert duplicate.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    sf.Product2.update(product["Id"], {"Name": "Seats (annual)"})
    names = {r["Name"] for r in sf.query(format_soql("SELECT Name FROM PricebookEntry WHERE Product2Id = {}",
                                                     product["Id"]))["records"]}
    assert names == {"Seats (annual)"}
    [priced] = sf.query("SELECT UnitPrice, Product2.Stripe_Product_Id__c, Pricebook2.IsStandard FROM PricebookEntry "
                        "WHERE Stripe_Price_Id__c = 'price_EUR'")["records"]
    assert priced["UnitPrice"] == Decimal("49.00") and priced["Product2"]["Stripe_Product_Id__c"] == "prod_SEATS"


def test_deleting_an_account_cascades_to_its_children(sf, seed):
    """Input: DELETE of a seeded Account; its Contacts and Opportunities vanish from query, not from queryAll."""
    account = seed.accounts[2]
    sf.Account.delete(account.salesforce_id)
    soql = format_soql("SELECT Id, IsDeleted FROM Contact WHERE AccountId = {}", account.salesforce_id)
    assert sf.query(soql)["records"] == []
    assert [r["IsDeleted"] for r in sf.query_all(soql, include_deleted=True)["records"]] == [True, True]
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT Id FROM Contact WHERE CreatedDate > 2026-13-01T00:00:00Z")


def test_get_updated_and_get_deleted_follow_the_sandbox_clock(sf_sandbox, sf, control):
    """Input: a create, an update and a delete, then getUpdated/getDeleted over the last hour; then the clock
    moves 16 days (past the recycle bin) and 31 days (past the replication window)."""
    now = _now(control)
    created = sf.Account.create({"Name": "Replicated"})["id"]
    doomed = sf.Contact.create({"LastName": "Doomed"})["id"]
    sf.Contact.delete(doomed)
    # latestDateCovered is rounded down to the minute: a change is reported once its minute is over.
    control("POST", "/clock", json={"advance_seconds": 120})
    start, end = now - timedelta(hours=1), now + timedelta(minutes=5)
    updated = sf.Account.updated(start, end)
    assert updated["ids"] == [created] and updated["latestDateCovered"].endswith(":00.000+0000")
    deleted = sf.Contact.deleted(start, end)
    assert [record["id"] for record in deleted["deletedRecords"]] == [doomed]
    assert set(deleted) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}

    assert control("POST", "/clock", json={"advance_seconds": 16 * 86400}).status_code == 200
    sf = fresh_session(sf_sandbox)  # the old session timed out (2 h of inactivity)
    later = _now(control)
    window = sf.Contact.deleted(later - timedelta(days=20), later)
    assert window["deletedRecords"] == []  # purged from the recycle bin
    assert window["earliestDateAvailable"] > deleted["earliestDateAvailable"]
    assert sf.query_all(format_soql("SELECT Id FROM Contact WHERE Id = {}", doomed), include_deleted=True)[
        "totalSize"] == 0
    with pytest.raises(SalesforceMalformedRequest) as too_old:
        sf.Account.updated(later - timedelta(days=31), later)
    assert too_old.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_clock_control_moves_forward_only(control):
    """Input: GET the clock, advance 3600 s, then a negative advance."""
    before = control("GET", "/clock").json()["now"]
    after = control("POST", "/clock", json={"advance_seconds": 3600}).json()["now"]
    assert 3600 <= after - before <= 3610
    assert control("POST", "/clock", json={"advance_seconds": -5}).status_code == 400


def test_new_records_are_stamped_on_the_sandbox_clock(sf_sandbox, control):
    """Input: the clock advanced a day, then a create with a fresh session; CreatedDate follows the sandbox clock."""
    control("POST", "/clock", json={"advance_seconds": 86400})
    sf = fresh_session(sf_sandbox)
    now = _now(control)
    record_id = sf.Contact.create({"LastName": "Tomorrow"})["id"]
    stamp = sf.Contact.get(record_id)["CreatedDate"]
    assert stamp[:13] == now.strftime("%Y-%m-%dT%H") or stamp > now.strftime("%Y-%m-%dT%H")


def _now(control):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(control("GET", "/clock").json()["now"], UTC)


def test_account_address_and_phone_fields_exist_with_salesforce_lengths(sf):
    """Input: an Account with a two-line BillingStreet, city, state, postal code and phone, read back by SOQL;
    then a 41-character BillingCity -> STRING_TOO_LONG, as Salesforce answers (BillingCity is 40 long)."""
    created = sf.Account.create({"Name": "Address Ltd", "BillingStreet": "1 Main St\nSuite 2", "BillingCity": "Oslo",
                                 "BillingState": "Oslo", "BillingPostalCode": "0150", "Phone": "+47 22 00 00 00"})
    row = sf.query(format_soql("SELECT BillingStreet, BillingCity, BillingPostalCode, Phone FROM Account "
                               "WHERE Id = {}", created["id"]))["records"][0]
    assert (row["BillingStreet"], row["BillingCity"], row["BillingPostalCode"], row["Phone"]) == (
        "1 Main St\nSuite 2", "Oslo", "0150", "+47 22 00 00 00")
    described = {field["name"]: field for field in sf.Account.describe()["fields"]}
    assert described["BillingStreet"]["type"] == "textarea" and described["BillingCity"]["length"] == 40
    assert described["Phone"]["type"] == "phone"
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.update(created["id"], {"BillingCity": "x" * 41})
    assert raised.value.content[0]["errorCode"] == "STRING_TOO_LONG"
