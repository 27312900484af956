"""Stripe -> Salesforce writes (connectors.salesforce_sync): products, prices and Account billing fields through
the outbox, upserted by external id in sObject Collections calls, against the Salesforce sandbox over HTTPS
through simple-salesforce. The Stripe records are what the Stripe sandbox serves (read once per module through
the Stripe connector), landed raw in the hub as the Stripe source assets land them; every test runs on SQLite
and PostgreSQL.

The seeded org already holds the three plans as Product2 with a standard price per currency for the monthly
Stripe prices (sandboxes/salesforce/catalog.py); Stripe also sells yearly prices, which can only go to a custom
price book, and only after the standard price of their product and currency exists.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from connectors.salesforce import SalesforceConnector
from connectors.salesforce_collections import LockRetry
from connectors.salesforce_sync import TARGETS, SalesforcePush, push_account_billing, push_catalog
from connectors.salesforce_sync_plan import BILLING, PRICE, PRODUCT, SYSTEM, desired_prices, desired_products, plan
from connectors.stripe import StripeConnector
from connectors.stripe_entities import BY_NAME
from sandboxes.salesforce import SalesforceSandbox
from sandboxes.seed import build_seed
from sandboxes.stripe.sandbox import StripeSandbox
from store.hub import Hub

COLLECTIONS = "/services/data/v59.0/composite/sobjects/"
ACCOUNT_FIELDS = ["Id", "Name", "Stripe_Customer_Id__c", "CurrencyIsoCode"]
BILLING_FIELDS = ["Stripe_Subscription_Status__c", "Stripe_Plan__c", "Stripe_Billing_Interval__c",
                  "Stripe_Billing_Amount__c", "Stripe_Next_Renewal_Date__c"]


@pytest.fixture(scope="module")
def stripe_records(tls) -> dict[str, list[dict]]:
    """Products, prices and subscriptions as the Stripe sandbox serves them (full reads, as a first sync)."""
    server = StripeSandbox(build_seed(), tls=tls, rate_limit_per_second=None).start()
    try:
        creds = server.credentials()
        stripe = StripeConnector(creds["STRIPE_API_KEY"], creds["STRIPE_API_BASE"], str(tls.bundle_path))
        end = int(time.time()) + 10 * 365 * 86_400
        return {name: stripe.list_in_windows(BY_NAME[name], end=end) for name in ("product", "price", "subscription")}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sandbox(tls):
    server = SalesforceSandbox(build_seed(), tls=tls).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def control(sandbox, tls):
    with httpx.Client(base_url=sandbox.base_url, verify=str(tls.bundle_path), timeout=10) as client:
        yield client


def connect(sandbox, tls, **kwargs) -> SalesforceConnector:
    creds = sandbox.credentials()
    kwargs.setdefault("lock_retry", LockRetry(attempts=2, first_wait=0.01, max_wait=0.02))
    return SalesforceConnector(creds["SALESFORCE_INSTANCE_URL"], creds["SALESFORCE_ACCESS_TOKEN"],
                               str(tls.bundle_path), **kwargs)


@pytest.fixture
def sf(sandbox, tls, control) -> SalesforceConnector:
    control.post("/_sandbox/reset").raise_for_status()
    return connect(sandbox, tls)


@pytest.fixture
def hub(db_url, stripe_records):
    store = Hub(db_url, max_attempts=2)
    store.migrate()
    for entity, records in stripe_records.items():
        store.land_raw("stripe", entity, [(record["id"], record) for record in records], complete=True)
    yield store
    store.dispose()


def land_accounts(hub: Hub, sf: SalesforceConnector) -> list[dict]:
    """The Salesforce Accounts as the Salesforce source asset lands them."""
    accounts = list(sf.iter_accounts(ACCOUNT_FIELDS))
    hub.land_raw(SYSTEM, "account", [(account["Id"], account) for account in accounts], complete=True)
    return accounts


def log_since(control: httpx.Client, start: int) -> list[dict]:
    return control.get("/_sandbox/requests").json()[start:]


def collection_calls(log: list[dict], sobject: str) -> list[dict]:
    return [entry for entry in log
            if entry["method"] == "PATCH" and entry["path"].startswith(COLLECTIONS + sobject)]


def query(sf: SalesforceConnector, soql: str) -> list[dict]:
    return list(sf._query(soql))  # a read to check the org; the connector's own paging


def products_with(sf: SalesforceConnector, stripe_id: str) -> list[dict]:
    return sf.find_records("Product2", ["Id"], "Stripe_Product_Id__c", [stripe_id])


def entries(sf: SalesforceConnector) -> list[dict]:
    return query(sf, "SELECT Id, Stripe_Price_Id__c, UnitPrice, CurrencyIsoCode, IsActive,"
                     " Product2.Stripe_Product_Id__c, Pricebook2.IsStandard, Pricebook2.Concord_Key__c"
                     " FROM PricebookEntry")


def product_payload(template: dict, number: int, name: str | None = None) -> dict:
    product = copy.deepcopy(template)
    product.update(id=f"prod_push{number:04d}", name=name or f"Add-on {number}", default_price=None,
                   description=f"Add-on number {number}")
    return product


def price_payload(template: dict, product_id: str, number: int, interval: str = "month") -> dict:
    price = copy.deepcopy(template)
    price.update(id=f"price_push{number:04d}{interval[0]}", product=product_id, currency="usd",
                 unit_amount=1000 + number, unit_amount_decimal=str(1000 + number), lookup_key=None,
                 nickname=f"Add-on {number} {interval}ly")
    price["recurring"] = {**price["recurring"], "interval": interval, "interval_count": 1}
    return price


# ---- products and prices ----------------------------------------------------------------------------------------


def test_catalog_lands_once_standard_prices_first_and_a_second_run_sends_nothing(hub, sf, control, stripe_records,
                                                                                 sandbox, tls):
    """Input: Stripe's catalog (3 products, 30 prices: monthly and yearly in 5 currencies) into the seeded org
    (the 3 products and the 15 monthly standard prices already there, carrying their Stripe ids).
    Expect one Product2 per product and one PricebookEntry per price (the 18 existing ones adopted, not
    duplicated), monthly prices in the Standard Price Book, yearly ones in the custom book stripe-1-year, with
    the standard-book call sent before the custom-book call, exact amounts (JPY without decimals, KWD's
    three); then a second push plans nothing and sends no request at all."""
    start = len(control.get("/_sandbox/requests").json())
    counts = push_catalog(hub, sf)
    assert counts.as_metadata() == {"planned": 34, "written": 16, "adopted": 18, "updated": 0, "waiting": 0,
                                    "failed": 0, "dead_lettered": 0, "skipped": 0}
    products = query(sf, "SELECT Id, Name, Stripe_Product_Id__c, IsActive FROM Product2")
    assert sorted(p["Stripe_Product_Id__c"] for p in products) == sorted(p["id"] for p in stripe_records["product"])
    found = entries(sf)
    assert sorted(e["Stripe_Price_Id__c"] for e in found) == sorted(p["id"] for p in stripe_records["price"])
    by_id = {entry["Stripe_Price_Id__c"]: entry for entry in found}
    for price in stripe_records["price"]:
        entry = by_id[price["id"]]
        standard = price["recurring"]["interval"] == "month"
        assert entry["Pricebook2"]["IsStandard"] is standard
        assert entry["Pricebook2"]["Concord_Key__c"] == (None if standard else "stripe-1-year")
        assert entry["Product2"]["Stripe_Product_Id__c"] == price["product"]
        assert entry["CurrencyIsoCode"] == price["currency"].upper()
    jpy = next(p for p in stripe_records["price"] if p["currency"] == "jpy" and p["recurring"]["interval"] == "year")
    assert Decimal(str(by_id[jpy["id"]]["UnitPrice"])) == Decimal(jpy["unit_amount"])
    kwd = next(p for p in stripe_records["price"] if p["currency"] == "kwd" and p["recurring"]["interval"] == "year")
    assert Decimal(str(by_id[kwd["id"]]["UnitPrice"])) == Decimal(kwd["unit_amount"]).scaleb(-3)
    log = log_since(control, start)
    kinds = [entry["path"].removeprefix(COLLECTIONS) for entry in log if entry["path"].startswith(COLLECTIONS)]
    assert kinds == ["Product2/Stripe_Product_Id__c", "Pricebook2/Concord_Key__c",
                     "PricebookEntry/Stripe_Price_Id__c", "PricebookEntry/Stripe_Price_Id__c"]
    assert hub.outbox_counts()["pending"] == 0 and len(hub.links(PRICE, SYSTEM)) == 30

    again = len(control.get("/_sandbox/requests").json())
    fresh = connect(sandbox, tls)  # a later run: its own connector and response counts
    assert push_catalog(hub, fresh).planned == 0
    assert log_since(control, again) == []
    assert fresh.response_stats.as_metadata()["http_requests"] == 0


def test_a_changed_price_is_sent_again_alone(hub, sf, control, stripe_records):
    """Input: the catalog pushed, then one yearly price archived in Stripe (active false, landed again), then
    unarchived. Expect exactly that entry planned and sent each time (update, without its create-only fields),
    IsActive false in Salesforce, then true again."""
    push_catalog(hub, sf)
    price = copy.deepcopy(next(p for p in stripe_records["price"] if p["recurring"]["interval"] == "year"))
    price["active"] = False
    hub.land_raw("stripe", "price", [(price["id"], price)])
    start = len(control.get("/_sandbox/requests").json())
    counts = push_catalog(hub, sf)
    assert (counts.planned, counts.updated, counts.failed) == (1, 1, 0)
    assert len(collection_calls(log_since(control, start), "PricebookEntry")) == 1
    assert {e["Stripe_Price_Id__c"]: e["IsActive"] for e in entries(sf)}[price["id"]] is False

    price["active"] = True  # back to the first value: A -> B -> A is a third write, not "already sent"
    hub.land_raw("stripe", "price", [(price["id"], price)])
    assert push_catalog(hub, sf).updated == 1
    assert {e["Stripe_Price_Id__c"]: e["IsActive"] for e in entries(sf)}[price["id"]] is True


def test_a_change_reverted_while_its_write_waits_for_a_retry_puts_the_first_value_back(hub, sf, control,
                                                                                     stripe_records):
    """Input: the catalog pushed; a yearly price archived in Stripe while its PricebookEntry is locked in Salesforce
    (the write fails, the row waits for a retry); then the price unarchived in Stripe before the retry. Expect the
    next push to plan a row back to active and send only that one (the archived one superseded, never sent again):
    Salesforce ends with IsActive true and nothing pending."""
    push_catalog(hub, sf)
    price = copy.deepcopy(next(p for p in stripe_records["price"] if p["recurring"]["interval"] == "year"))
    control.post("/_sandbox/lock_rows", json={"ids": [hub.links(PRICE, SYSTEM)[price["id"]]], "times": 2})
    hub.land_raw("stripe", "price", [(price["id"], {**price, "active": False})])
    assert push_catalog(hub, sf).failed == 1
    hub.land_raw("stripe", "price", [(price["id"], price)])
    start = len(control.get("/_sandbox/requests").json())
    counts = push_catalog(hub, sf)
    assert (counts.planned, counts.updated, counts.failed) == (1, 1, 0)
    assert len(collection_calls(log_since(control, start), "PricebookEntry")) == 1
    assert {e["Stripe_Price_Id__c"]: e["IsActive"] for e in entries(sf)}[price["id"]] is True
    assert hub.pending(SYSTEM) == []


def test_a_custom_book_price_waits_while_its_standard_price_cannot_be_written(hub, sf, control, stripe_records):
    """Input: a new Stripe product with a monthly and a yearly USD price, while someone has already made a standard
    price for that product in USD by hand (no Stripe id), so Concord's standard entry is refused (DUPLICATE_VALUE).
    Expect the monthly row failed with Salesforce's code, the yearly one waiting (never sent: no
    STANDARD_PRICE_NOT_DEFINED), and both products and the rest of the catalog done."""
    product = product_payload(stripe_records["product"][0], 1, "Support plan")
    template = stripe_records["price"][0]
    prices = [price_payload(template, product["id"], 1, "month"), price_payload(template, product["id"], 1, "year")]
    hub.land_raw("stripe", "product", [(product["id"], product)])
    hub.land_raw("stripe", "price", [(price["id"], price) for price in prices])
    sf.upsert_records("Product2", "Stripe_Product_Id__c", [{"Stripe_Product_Id__c": product["id"], "Name": "Support"}])
    [made] = products_with(sf, product["id"])
    standard = sf.standard_pricebook_id()
    control.post("/_sandbox/records/PricebookEntry", json=[{
        "Pricebook2Id": standard, "Product2Id": made["Id"], "UnitPrice": 5, "IsActive": True,
        "CurrencyIsoCode": "USD"}]).raise_for_status()
    counts = push_catalog(hub, sf)
    assert (counts.failed, counts.waiting) == (1, 1)
    assert "DUPLICATE_VALUE" in counts.errors[0] and prices[0]["id"] in counts.errors[0]
    assert prices[1]["id"] not in {e["Stripe_Price_Id__c"] for e in entries(sf)}
    waiting = [row for row in hub.pending(SYSTEM, PRICE) if row.canonical_key == prices[1]["id"]]
    assert [row.attempts for row in waiting] == [0]  # never sent, no attempt counted
    assert len(hub.links(PRODUCT, SYSTEM)) == 4 and len(hub.links(PRICE, SYSTEM)) == 30


def test_more_than_200_records_go_in_calls_of_at_most_200(hub, sf, control, stripe_records):
    """Input: 450 new Stripe products with one monthly USD price each (plus the seeded catalog). Expect Product2
    in 3 Collections calls (200, 200, 50: the sandbox refuses a call of more than 200 with EXCEEDED_ID_LIMIT, so
    every record landing means no call was larger), their standard prices likewise, each record once."""
    products = [product_payload(stripe_records["product"][0], number) for number in range(450)]
    prices = [price_payload(stripe_records["price"][0], product["id"], number)
              for number, product in enumerate(products)]
    hub.land_raw("stripe", "product", [(product["id"], product) for product in products])
    hub.land_raw("stripe", "price", [(price["id"], price) for price in prices])
    start = len(control.get("/_sandbox/requests").json())
    counts = push_catalog(hub, sf)
    assert (counts.failed, counts.waiting, counts.written) == (0, 0, 450 + 450 + 16)
    log = log_since(control, start)
    assert len(collection_calls(log, "Product2")) == 3  # 453 products: 200 + 200 + 53
    assert len(collection_calls(log, "PricebookEntry")) == 4  # 465 standard (200, 200, 65), then 15 yearly
    assert all(entry["status"] == 200 for entry in collection_calls(log, ""))
    assert sf.count("Product2") == 453 and sf.count("PricebookEntry") == 480


def test_records_salesforce_cannot_hold_are_dead_lettered_before_any_call_and_the_rest_go_on(hub, sf, stripe_records):
    """Input: a tiered Stripe price (no single UnitPrice), a landed product without a name, and the seeded catalog.
    Expect the price dead-lettered with field unit_amount and the product with field name (reasons kept), neither
    sent, and the 3 products and 30 prices written as before."""
    tiered = price_payload(stripe_records["price"][0], stripe_records["product"][0]["id"], 9)
    tiered.update(billing_scheme="tiered", tiers_mode="graduated", unit_amount=None, unit_amount_decimal=None,
                  tiers=[{"up_to": 10, "unit_amount": 500, "flat_amount": None},
                         {"up_to": "inf", "unit_amount": 400, "flat_amount": None}])
    nameless = {**product_payload(stripe_records["product"][0], 9), "name": None}
    hub.land_raw("stripe", "price", [(tiered["id"], tiered)])
    hub.land_raw("stripe", "product", [(nameless["id"], nameless)])
    counts = push_catalog(hub, sf)
    assert (counts.planned, counts.failed) == (34, 0)
    letters = {letter.external_id: letter for letter in hub.dead_letters(SYSTEM)}
    assert letters[tiered["id"]].field == "unit_amount" and "tiered" in letters[tiered["id"]].reason
    assert letters[nameless["id"]].field == "name"
    assert tiered["id"] not in {e["Stripe_Price_Id__c"] for e in entries(sf)}
    assert products_with(sf, nameless["id"]) == []


# ---- crash and rerun ------------------------------------------------------------------------------------------------


def test_a_crash_after_salesforce_wrote_and_a_rerun_leave_one_record_per_stripe_id(hub, sf, control, stripe_records):
    """Input: a new product with a monthly and a yearly price; the push's own steps (plan, claim, prepare, the
    Collections call) run for the product and then stop before finish_writes, as a dying process would; then the
    same for the standard price; then a full rerun. Expect Salesforce to hold exactly one Product2 and one
    PricebookEntry per Stripe id, the rerun to update (not create) the records the crashed calls made, and the
    hub to link them."""
    product = product_payload(stripe_records["product"][0], 7, "Crash-tested add-on")
    prices = [price_payload(stripe_records["price"][0], product["id"], 7, "month"),
              price_payload(stripe_records["price"][0], product["id"], 7, "year")]
    hub.land_raw("stripe", "product", [(product["id"], product)])
    hub.land_raw("stripe", "price", [(price["id"], price) for price in prices])
    job = SalesforcePush(hub, sf)
    plan(hub, PRODUCT, desired_products(hub))
    _, desired = desired_prices(hub, job.counts)
    plan(hub, PRICE, desired)

    def crash(entity: str, key: str) -> None:
        [row] = [row for row in hub.pending(SYSTEM, entity) if row.canonical_key == key]
        assert hub.claim_attempts([row]) == {row.id}
        ready, _ = job.prepare(entity, [row])
        target = TARGETS[entity]
        outcome = sf.upsert_records(target.sobject, target.key_field, [body for _, body in ready])
        assert outcome.results[0].success and outcome.results[0].created
        # the crash: nothing recorded
        assert key not in hub.links(entity, SYSTEM)

    crash(PRODUCT, product["id"])
    job.links[PRODUCT][product["id"]] = products_with(sf, product["id"])[0]["Id"]  # what the dead process knew
    crash(PRICE, prices[0]["id"])

    counts = push_catalog(hub, sf)
    assert counts.failed == 0 and counts.waiting == 0
    assert counts.adopted >= 2  # the crashed product and standard price, found by their Stripe ids
    assert len(products_with(sf, product["id"])) == 1
    found = [e["Stripe_Price_Id__c"] for e in entries(sf)]
    assert all(found.count(price["id"]) == 1 for price in prices)
    assert {product["id"]} <= set(hub.links(PRODUCT, SYSTEM)) and {p["id"] for p in prices} <= set(
        hub.links(PRICE, SYSTEM))
    assert hub.outbox_counts()["pending"] == 0


# ---- billing fields ---------------------------------------------------------------------------------------------


def _expected_billing(stripe_records: dict, subscription: dict) -> dict:
    prices = {price["id"]: price for price in stripe_records["price"]}
    products = {product["id"]: product for product in stripe_records["product"]}
    [item] = subscription["items"]["data"]
    price = prices[item["price"]["id"] if isinstance(item["price"], dict) else item["price"]]
    exponent = {"jpy": 0, "kwd": 3}.get(price["currency"], 2)
    return {
        "Stripe_Subscription_Status__c": subscription["status"],
        "Stripe_Plan__c": products[price["product"]]["name"],
        "Stripe_Billing_Interval__c": price["recurring"]["interval"],
        "Stripe_Billing_Amount__c": Decimal(price["unit_amount"] * item["quantity"]).scaleb(-exponent),
        "Stripe_Next_Renewal_Date__c": datetime.fromtimestamp(item["current_period_end"], UTC).date().isoformat(),
    }


def _billing_of(sf: SalesforceConnector) -> dict[str, dict]:
    rows = list(sf.iter_accounts(["Id", "Name", "Stripe_Customer_Id__c", *BILLING_FIELDS]))
    return {row["Stripe_Customer_Id__c"] or row["Id"]: row for row in rows}


def test_billing_fields_land_on_each_customers_account_and_only_there(hub, sf, control, stripe_records):
    """Input: the 12 seeded subscriptions (one per customer, monthly and yearly, 5 currencies) and the Accounts
    landed from Salesforce, plus an Account nobody linked to Stripe. Expect each customer's Account to show its
    subscription's status, plan, interval, amount (exact, in the account's currency) and next renewal, in one
    Collections call; Names untouched; the unlinked Account untouched; a second push plans and sends nothing."""
    control.post("/_sandbox/accounts", json=[{"Name": "Prospect Ltd", "CurrencyIsoCode": "USD"}]).raise_for_status()
    before = _billing_of(sf)
    land_accounts(hub, sf)
    start = len(control.get("/_sandbox/requests").json())
    counts = push_account_billing(hub, sf)
    assert (counts.planned, counts.updated, counts.failed, counts.waiting) == (12, 12, 0, 0)
    assert len(collection_calls(log_since(control, start), "Account")) == 1
    after = _billing_of(sf)
    for subscription in stripe_records["subscription"]:
        account = after[subscription["customer"]]
        expected = _expected_billing(stripe_records, subscription)
        got = {name: account[name] for name in BILLING_FIELDS}
        got["Stripe_Billing_Amount__c"] = Decimal(str(got["Stripe_Billing_Amount__c"]))
        assert got == expected, subscription["customer"]
        assert account["Name"] == before[subscription["customer"]]["Name"]
    [prospect] = [row for key, row in after.items() if row["Name"] == "Prospect Ltd"]
    assert all(prospect[name] is None for name in BILLING_FIELDS)

    again = len(control.get("/_sandbox/requests").json())
    assert push_account_billing(hub, sf).planned == 0
    assert log_since(control, again) == []


def test_a_subscription_change_updates_only_its_account(hub, sf, control, stripe_records):
    """Input: billing pushed, then one subscription set to cancel at period end and past_due (landed again).
    Expect one row planned and sent, that Account's status past_due and next renewal cleared; others unchanged."""
    land_accounts(hub, sf)
    push_account_billing(hub, sf)
    changed = copy.deepcopy(stripe_records["subscription"][0])
    changed.update(status="past_due", cancel_at_period_end=True)
    hub.land_raw("stripe", "subscription", [(changed["id"], changed)])
    before = _billing_of(sf)
    counts = push_account_billing(hub, sf)
    assert (counts.planned, counts.updated) == (1, 1)
    after = _billing_of(sf)
    assert after[changed["customer"]]["Stripe_Subscription_Status__c"] == "past_due"
    assert after[changed["customer"]]["Stripe_Next_Renewal_Date__c"] is None
    others = [key for key in after if key != changed["customer"]]
    assert all(after[key][name] == before[key][name] for key in others for name in BILLING_FIELDS)


def test_an_account_in_another_currency_is_dead_lettered_and_the_rest_go_on(hub, sf, control, stripe_records):
    """Input: one landed Account whose CurrencyIsoCode (GBP) differs from its customer's subscription currency.
    Expect that customer's billing dead-lettered with the reason and field CurrencyIsoCode (no conversion, no
    write), the other 11 Accounts written."""
    accounts = land_accounts(hub, sf)
    subscription = next(s for s in stripe_records["subscription"] if s["currency"] != "gbp")
    account = next(a for a in accounts if a["Stripe_Customer_Id__c"] == subscription["customer"])
    hub.land_raw(SYSTEM, "account", [(account["Id"], {**account, "CurrencyIsoCode": "GBP"})])
    counts = push_account_billing(hub, sf)
    assert (counts.planned, counts.updated, counts.failed) == (11, 11, 0)
    [letter] = hub.dead_letters(SYSTEM, BILLING)
    assert letter.external_id == subscription["customer"] and letter.field == "CurrencyIsoCode"
    assert "GBP" in letter.reason and subscription["currency"].upper() in letter.reason
    assert _billing_of(sf)[subscription["customer"]]["Stripe_Plan__c"] is None


# ---- per-record failures ------------------------------------------------------------------------------------------


def test_failed_records_of_a_200_answer_fail_alone_and_are_dead_lettered_after_max_attempts(
        hub, sf, control, stripe_records):
    """Input: one Collections call of billing for 12 Accounts, two of them locked in Salesforce for every write
    (UNABLE_TO_LOCK_ROW through /_sandbox/lock_rows; the connector retries a lock once more), and a new Stripe
    product whose 300-character name Salesforce refuses (STRING_TOO_LONG) among two good ones. Hub max_attempts 2.
    Expect the call answered 200, the 10 other Accounts and the good products done, the failed rows marked failed
    with Salesforce's code, and after the second push dead-lettered with the reason (and field for the name)."""
    accounts = {a["Stripe_Customer_Id__c"]: a for a in land_accounts(hub, sf)}
    locked = [stripe_records["subscription"][1]["customer"], stripe_records["subscription"][4]["customer"]]
    control.post("/_sandbox/lock_rows", json={"ids": [accounts[c]["Id"] for c in locked], "times": 100})
    template = stripe_records["product"][0]
    products = [product_payload(template, 1), product_payload(template, 2, "N" * 300), product_payload(template, 3)]
    hub.land_raw("stripe", "product", [(product["id"], product) for product in products])

    start = len(control.get("/_sandbox/requests").json())
    billing = push_account_billing(hub, sf)
    assert (billing.updated, billing.failed, billing.dead_lettered) == (10, 2, 0)
    assert all(entry["status"] == 200 for entry in collection_calls(log_since(control, start), "Account"))
    failed = {row.canonical_key: row for row in hub.pending(SYSTEM, BILLING)}
    assert set(failed) == set(locked)
    assert all(row.status == "failed" and "UNABLE_TO_LOCK_ROW" in row.last_error for row in failed.values())
    catalog = push_catalog(hub, sf)
    assert (catalog.failed, catalog.dead_lettered) == (1, 0)
    assert {products[0]["id"], products[2]["id"]} <= set(hub.links(PRODUCT, SYSTEM))
    assert products[1]["id"] not in hub.links(PRODUCT, SYSTEM)

    assert push_account_billing(hub, sf).dead_lettered == 2
    assert push_catalog(hub, sf).dead_lettered == 1
    letters = {letter.external_id: letter for letter in hub.dead_letters(SYSTEM)}
    assert set(locked) <= set(letters) and products[1]["id"] in letters
    assert all("UNABLE_TO_LOCK_ROW" in letters[c].reason and "failed 2 times" in letters[c].reason for c in locked)
    assert "STRING_TOO_LONG" in letters[products[1]["id"]].reason and letters[products[1]["id"]].field == "Name"
    assert hub.pending(SYSTEM) == []  # nothing left to retry: the rest are done
    billing_of = _billing_of(sf)
    assert all(billing_of[c]["Stripe_Plan__c"] is None for c in locked)
    assert sum(billing_of[c]["Stripe_Plan__c"] is not None for c in accounts) == 10
