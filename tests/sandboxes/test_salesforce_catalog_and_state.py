"""Salesforce sandbox: the seeded product catalog (Product2 + standard PricebookEntry with Stripe ids),
relative date literals in SOQL on the sandbox clock, and persistence (snapshot -> JSON -> restore)."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from simple_salesforce import Salesforce, SalesforceMalformedRequest, format_soql

from sandboxes.salesforce import SalesforceSandbox
from sandboxes.salesforce.catalog import stripe_price_id, stripe_product_id
from sandboxes.seed import build_seed
from sandboxes.stripe.finance_seed import price_id_for
from sandboxes.stripe.objects import stable_id
from tests.sandboxes.salesforce_clients import sdk, session_trusting


@pytest.fixture(scope="module")
def seed():
    return build_seed(8)


def client(server: SalesforceSandbox, tls) -> Salesforce:
    return sdk(server.base_url, server.access_token, session_trusting(str(tls.bundle_path)))


def test_seeded_products_carry_stripe_ids_and_standard_prices(sf):
    """Input: SOQL over Product2 and PricebookEntry of a fresh org -> three active plans whose
    Stripe_Product_Id__c equals the Stripe sandbox's seeded product ids, each with a standard price per
    seeded currency whose Stripe_Price_Id__c is Stripe's monthly price id, priced in major units."""
    products = sf.query("SELECT Id, Name, ProductCode, Stripe_Product_Id__c, IsActive FROM Product2 "
                        "ORDER BY Name")["records"]
    assert [(p["Name"], p["IsActive"]) for p in products] == [("Growth", True), ("Scale", True), ("Starter", True)]
    for product in products:
        assert product["Id"].startswith("01t")
        assert product["Stripe_Product_Id__c"] == stable_id("prod_", "plan", product["ProductCode"].lower(),
                                                            length=14)
    entries = sf.query("SELECT UnitPrice, CurrencyIsoCode, Stripe_Price_Id__c, Product2.ProductCode, "
                       "Pricebook2.IsStandard FROM PricebookEntry WHERE Product2.ProductCode = 'STARTER'")["records"]
    prices = {entry["CurrencyIsoCode"]: entry["UnitPrice"] for entry in entries}
    assert prices == {"USD": Decimal("29.00"), "EUR": Decimal("27.00"), "GBP": Decimal("23.00"),
                      "JPY": Decimal("4400"), "KWD": Decimal("9.000")}
    assert all(entry["Pricebook2"]["IsStandard"] for entry in entries)
    assert {entry["Stripe_Price_Id__c"] for entry in entries} == {
        price_id_for("starter", currency, "month") for currency in ("usd", "eur", "gbp", "jpy", "kwd")}
    by_stripe = sf.PricebookEntry.get_by_custom_id("Stripe_Price_Id__c", stripe_price_id("scale", "eur"))
    assert by_stripe["UnitPrice"] == Decimal("270.00")
    assert stripe_product_id("growth") == stable_id("prod_", "plan", "growth", length=14)


def test_relative_date_literals_follow_the_sandbox_clock(sf, sf_sandbox, tls):
    """Input: an Account created now; CreatedDate = TODAY / = YESTERDAY / > LAST_N_DAYS:3; then the clock moved
    two days -> the account moves from TODAY to LAST_N_DAYS:3 only, and a seeded one (2026) is never TODAY;
    a date literal on a text field is refused."""
    sf_sandbox.configure_limits(session_timeout_seconds=10 * 86400)  # the session must outlive the clock jump
    created = sf.Account.create({"Name": "Made Today Ltd"})["id"]

    def ids(where: str) -> set[str]:
        return {row["Id"] for row in sf.query_all("SELECT Id FROM Account WHERE " + where)["records"]}  # noqa: S608

    assert ids("CreatedDate = TODAY") == {created}
    assert ids("CreatedDate = YESTERDAY") == set()
    assert created in ids("CreatedDate >= YESTERDAY")
    session_trusting(str(tls.bundle_path)).post(sf_sandbox.base_url + "/_sandbox/clock",
                                                json={"advance_seconds": 2 * 86400}, timeout=10).raise_for_status()
    assert ids("CreatedDate = TODAY") == set()
    assert ids("CreatedDate = LAST_N_DAYS:3") == {created}
    assert ids("CreatedDate = LAST_N_DAYS:1") == set()
    assert created in ids("CreatedDate < YESTERDAY")
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query("SELECT Id FROM Account WHERE Name = TODAY")
    assert refused.value.content[0]["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"


def test_snapshot_restores_rows_deletions_and_counters(tls):
    """Input: on org A an Account created, a seeded Account updated, another deleted, the clock moved an hour;
    snapshot through json.dumps/loads into fresh org B -> B serves the same rows, the deletion is in queryAll
    only, the clock offset holds, and B's next Account gets a new Id."""
    first = SalesforceSandbox(build_seed(8), tls=tls).start()
    seed = build_seed(8)
    try:
        sf = client(first, tls)
        made = sf.Account.create({"Name": "Survivor Ltd", "Stripe_Customer_Id__c": "cus_SURVIVOR"})["id"]
        sf.Account.update(seed.accounts[0].salesforce_id, {"Name": "Renamed GmbH"})
        sf.Account.delete(seed.accounts[1].salesforce_id)
        session_trusting(str(tls.bundle_path)).post(first.base_url + "/_sandbox/clock", json={"advance_seconds": 3600},
                                                    timeout=10).raise_for_status()
        clock = first.clock.now()
        saved = json.loads(json.dumps(first.snapshot()))
    finally:
        first.stop()
    second = SalesforceSandbox(build_seed(8), tls=tls).start()
    try:
        second.restore(saved)
        sf = client(second, tls)
        assert sf.Account.get(made)["Name"] == "Survivor Ltd"
        assert sf.Account.get_by_custom_id("Stripe_Customer_Id__c", "cus_SURVIVOR")["Id"] == made
        assert sf.Account.get(seed.accounts[0].salesforce_id)["Name"] == "Renamed GmbH"
        deleted = seed.accounts[1].salesforce_id
        assert sf.query(format_soql("SELECT Id FROM Account WHERE Id = {}", deleted))["records"] == []
        assert sf.query_all(format_soql("SELECT IsDeleted FROM Account WHERE Id = {}", deleted),
                            include_deleted=True)["records"][0]["IsDeleted"] is True
        assert abs((second.clock.now() - clock).total_seconds()) < 5
        newer = sf.Account.create({"Name": "After Restore Ltd"})["id"]
        assert newer != made and sf.Account.get(made)["Name"] == "Survivor Ltd"
    finally:
        second.stop()
    with pytest.raises(ValueError):
        SalesforceSandbox(build_seed(8)).restore({"format": "something else"})


def test_construction_time_at_scale():
    """Input: SalesforceSandbox built from build_seed(scale=100) and (scale=1000) -> printed construction times
    (-s shows them) and the expected row counts; not a timed assertion."""
    for scale in (100, 1000):
        seed = build_seed(1, scale)
        started = time.perf_counter()
        sf_sandbox = SalesforceSandbox(seed)
        elapsed = time.perf_counter() - started
        print(f"salesforce scale={scale}: {len(seed.accounts)} accounts constructed in {elapsed:.2f} s")
        assert len(sf_sandbox.state.snapshot("Account")) == 12 * scale
