"""Salesforce Closed Won -> Stripe customer (connectors/stripe_sync.py) against the Stripe and Salesforce sandboxes.

Accounts and Opportunities are planted in the Salesforce sandbox (its control API, which skips validation so
bad records can be planted too), read and landed by the same reader the source assets use
(assets.salesforce_sources.land_salesforce_changes), then pushed to the Stripe sandbox through the real SDK over
HTTPS. The seeded org's 12 Accounts, each with a Closed Won deal and a Stripe_Customer_Id__c, are landed too: they
must never get a second customer. Customers in Stripe are counted with Stripe's own search and list endpoints
and the sandbox's request log.
"""

from __future__ import annotations

import ssl
from types import SimpleNamespace

import httpx
import pytest

from assets.salesforce_sources import OPPORTUNITY_STREAM, land_salesforce_changes
from connectors.salesforce import SalesforceConnector
from connectors.stripe import StripeConnector
from connectors.stripe_sync import (
    ADOPTED,
    CREATED,
    ENTITY,
    SYSTEM,
    WRITE_BACK_ENTITY,
    WRITE_BACK_SYSTEM,
    metadata_query,
    plan,
    push,
)
from sandboxes.salesforce import SalesforceSandbox
from sandboxes.seed import build_seed
from store.hub import Hub

SEED = build_seed(42)
DAY = 86_400
FLAKY_SEED = 1


@pytest.fixture(scope="module")
def salesforce_sandbox(tls):
    server = SalesforceSandbox(SEED, tls=tls).start()
    yield server
    server.stop()


@pytest.fixture
def stripe_control(stripe_sandbox, tls):
    with httpx.Client(base_url=stripe_sandbox.base_url, timeout=10,
                      verify=ssl.create_default_context(cafile=str(tls.bundle_path))) as client:
        client.post("/_sandbox/reset").raise_for_status()
        yield client
        client.post("/_sandbox/fault-profile", json={"profile": "none"}).raise_for_status()


@pytest.fixture
def salesforce_control(salesforce_sandbox, tls):
    with httpx.Client(base_url=salesforce_sandbox.base_url, timeout=10,
                      verify=ssl.create_default_context(cafile=str(tls.bundle_path))) as client:
        client.post("/_sandbox/reset").raise_for_status()
        yield client


@pytest.fixture
def stripe_api(stripe_sandbox, tls, stripe_control) -> StripeConnector:
    creds = stripe_sandbox.credentials()
    return StripeConnector(creds["STRIPE_API_KEY"], creds["STRIPE_API_BASE"], str(tls.bundle_path))


@pytest.fixture
def crm(salesforce_sandbox, tls, salesforce_control) -> SalesforceConnector:
    creds = salesforce_sandbox.credentials()
    return SalesforceConnector(creds["SALESFORCE_INSTANCE_URL"], creds["SALESFORCE_ACCESS_TOKEN"], str(tls.bundle_path))


@pytest.fixture
def hub(db_url):
    store = Hub(db_url, max_attempts=3)
    store.migrate()
    yield store
    store.dispose()


def plant_account(control: httpx.Client, name: str | None, stages: list[str], currency: str = "EUR") -> str:
    """An Account without a Stripe customer, with one Opportunity per stage; returns the Account Id."""
    response = control.post("/_sandbox/records/Account", json=[{"Name": name, "CurrencyIsoCode": currency,
                                                                 "Phone": "+49 30 1234"}])
    response.raise_for_status()
    account_id = response.json()["ids"][0]
    deals = [{"AccountId": account_id, "Name": f"{name} deal {n}", "StageName": stage, "CloseDate": "2026-03-01",
              "Amount": 1200.5, "CurrencyIsoCode": "EUR"} for n, stage in enumerate(stages)]
    if deals:
        control.post("/_sandbox/records/Opportunity", json=deals).raise_for_status()
    return account_id


# What landing needs of a Dagster context: a run id for dead letters and a log.
_CONTEXT = SimpleNamespace(run_id=None, log=SimpleNamespace(warning=print, info=print))


def land_salesforce(hub: Hub, crm: SalesforceConnector) -> None:
    """What the two Salesforce source assets do: Accounts and Opportunities, incrementally after the first read."""
    for sobject, entity, stream in (("Account", "account", "salesforce.account"),
                                    ("Opportunity", "opportunity", OPPORTUNITY_STREAM)):
        land_salesforce_changes(_CONTEXT, hub, crm, sobject, entity, stream)


def customers_of(stripe_api: StripeConnector, account_id: str) -> list[dict]:
    return stripe_api.search_customers(metadata_query(account_id))


def customer_creates(control: httpx.Client) -> list[dict]:
    """Customer creates the sandbox processed (not refused, not replayed from the idempotency store)."""
    return [entry for entry in control.get("/_sandbox/requests").json()
            if entry["method"] == "POST" and entry["path"] == "/v1/customers" and entry["status"] == 200
            and not entry["replayed"]]


def test_closed_won_account_gets_exactly_one_customer_and_open_or_lost_ones_none(hub, stripe_api, crm,
                                                                                stripe_control, salesforce_control):
    """Input: the seeded org (12 won Accounts that have Stripe customers), plus Accounts planted without one: "Won
    O'Brien GmbH" (Closed Won and Prospecting deals), "Open Ltd" (Prospecting, Negotiation/Review), "Lost SA" (Closed
    Lost), "No deals Inc" (none) and "Deleted win" (Closed Won deal deleted before the read). Expect one customer,
    for the won Account only, with its Id in metadata, linked with a reason, written back to Salesforce; a second
    push makes no call to create anything."""
    won = plant_account(salesforce_control, "Won O'Brien GmbH", ["Closed Won", "Prospecting"])
    others = [plant_account(salesforce_control, "Open Ltd", ["Prospecting", "Negotiation/Review"]),
              plant_account(salesforce_control, "Lost SA", ["Closed Lost"]),
              plant_account(salesforce_control, "No deals Inc", [])]
    deleted_win = plant_account(salesforce_control, "Deleted win", ["Closed Won"])
    deal = crm._query(f"SELECT Id FROM Opportunity WHERE AccountId = '{deleted_win}'")  # noqa: S608 - test Id
    crm._call(lambda client: client.Opportunity.delete(next(deal)["Id"]))
    land_salesforce(hub, crm)

    counts = push(hub, stripe_api, crm)

    assert (counts.planned, counts.written, counts.adopted, counts.failed, counts.written_back) == (1, 1, 0, 0, 1)
    [customer] = customers_of(stripe_api, won)
    assert customer["name"] == "Won O'Brien GmbH" and customer["metadata"] == {"salesforce_account_id": won}
    assert customer["phone"] == "+49 30 1234"
    assert all(customers_of(stripe_api, account) == [] for account in [*others, deleted_win])
    assert len(list(stripe_api.iter_customers())) == len(SEED.accounts) + 1
    assert hub.links("customer", "salesforce")[customer["id"]] == won
    assert hub.link_reason("customer", customer["id"], "salesforce") == CREATED
    row = hub.outbox_row(f"stripe_customer-create-{won}")
    assert row.status == "done" and row.external_id == customer["id"]
    [creates] = [customer_creates(stripe_control)]
    assert len(creates) == 1 and creates[0]["idempotency_key"] == row.idempotency_key
    account = next(a for a in salesforce_control.get("/_sandbox/records/Account").json() if a["Id"] == won)
    assert account["Stripe_Customer_Id__c"] == customer["id"]

    again = push(hub, stripe_api, crm)
    assert (again.planned, again.written, again.adopted, again.failed) == (0, 0, 0, 0)
    assert len(customer_creates(stripe_control)) == 1


def test_an_account_stripe_already_has_a_customer_for_gets_none(hub, stripe_api, crm, stripe_control,
                                                               salesforce_control):
    """Input: a won Account without Stripe_Customer_Id__c, but a customer a person made in Stripe carrying its Id in
    metadata, landed by the Stripe source. Expect no create."""
    account = plant_account(salesforce_control, "Made by hand AG", ["Closed Won"])
    stripe_api.create_customer({"name": "Made by hand AG", "metadata": {"salesforce_account_id": account}}, "by-hand")
    hub.land_raw("stripe", "customer", [(c["id"], c) for c in stripe_api.iter_customers()], complete=True)
    land_salesforce(hub, crm)
    before = len(customer_creates(stripe_control))

    counts = push(hub, stripe_api, crm)

    assert counts.planned == 0 and len(customer_creates(stripe_control)) == before
    assert len(customers_of(stripe_api, account)) == 1


def _crash_after_create(hub: Hub, stripe_api: StripeConnector) -> tuple[str, str]:
    """The push's own steps up to Stripe's answer (plan, attempt counted, create with the stored key), then a stop,
    as a process that dies before mark_done would: Stripe has the customer, the hub has no link."""
    assert plan(hub) == 1
    [row] = hub.pending(SYSTEM, ENTITY)
    assert hub.claim_attempts([row]) == {row.id}
    created = stripe_api.create_customer(row.payload["params"], row.idempotency_key)
    return row.canonical_key, created["id"]


def test_crash_after_stripe_created_the_customer_then_rerun_gives_one_customer(hub, stripe_api, crm, stripe_control,
                                                                             salesforce_control):
    """Input: a won Account; the push dies after Stripe created its customer, before mark_done; then a rerun within
    the idempotency window. Expect exactly one customer, the first one, linked; the rerun created nothing."""
    plant_account(salesforce_control, "Crash Kft", ["Closed Won"])
    land_salesforce(hub, crm)
    account, first = _crash_after_create(hub, stripe_api)
    assert hub.links("customer", "salesforce") == {}

    counts = push(hub, stripe_api, crm)

    assert (counts.written, counts.adopted, counts.failed) == (0, 1, 0)
    assert [customer["id"] for customer in customers_of(stripe_api, account)] == [first]
    assert len(customer_creates(stripe_control)) == 1
    assert hub.links("customer", "salesforce") == {first: account}
    assert hub.link_reason("customer", first, "salesforce") == ADOPTED


def test_crash_then_rerun_after_the_idempotency_window_adopts_instead_of_duplicating(hub, stripe_api, crm,
                                                                                    stripe_control,
                                                                                    salesforce_control):
    """Input: the same crash, then the Stripe sandbox clock moved 25 hours (its idempotency keys pruned, as Stripe
    forgets them after 24) before the rerun. Expect the rerun to find the customer by metadata search and adopt it;
    and, to show the key alone would not have saved it, the same create with the same key now makes a new one."""
    plant_account(salesforce_control, "Late Retry Oy", ["Closed Won"])
    land_salesforce(hub, crm)
    account, first = _crash_after_create(hub, stripe_api)
    stripe_control.post("/_sandbox/clock", json={"advance_seconds": DAY + 3600}).raise_for_status()
    [row] = hub.pending(SYSTEM, ENTITY)

    counts = push(hub, stripe_api, crm)

    assert (counts.written, counts.adopted, counts.failed) == (0, 1, 0)
    assert [customer["id"] for customer in customers_of(stripe_api, account)] == [first]
    assert hub.links("customer", "salesforce") == {first: account}
    searches = [entry for entry in stripe_control.get("/_sandbox/requests").json()
                if entry["path"] == "/v1/customers/search"]
    assert searches and searches[0]["query"]["query"] == metadata_query(account)
    assert stripe_api.create_customer(row.payload["params"], row.idempotency_key)["id"] != first


def test_every_row_lands_exactly_once_under_the_flaky_profile(hub, stripe_api, crm, stripe_control,
                                                             salesforce_control, stripe_sandbox, tls):
    """Input: 20 won Accounts pushed while the Stripe sandbox runs the `flaky` fault profile (seeded: 5xx, creates
    committed then the connection dropped, bodies cut short), by a connector with no retries of its own, so each
    fault fails its row and the next push must recover it (search, then the stored key); pushing again while rows
    are left. Expect faults injected, rows recovered by search, and every Account with exactly one customer."""
    accounts = [plant_account(salesforce_control, f"Flaky {n:02d} & Co", ["Closed Won"]) for n in range(20)]
    land_salesforce(hub, crm)
    creds = stripe_sandbox.credentials()
    impatient = StripeConnector(creds["STRIPE_API_KEY"], creds["STRIPE_API_BASE"], str(tls.bundle_path),
                                max_network_retries=0)
    stripe_control.post("/_sandbox/fault-profile", json={"profile": "flaky", "seed": FLAKY_SEED}).raise_for_status()
    runs = []
    for _ in range(hub.max_attempts):
        runs.append(push(hub, impatient, crm))
        if not hub.pending(SYSTEM, ENTITY):
            break
    injected = stripe_control.get("/_sandbox/fault-profile").json()["injected"]
    stripe_control.post("/_sandbox/fault-profile", json={"profile": "none"}).raise_for_status()

    assert injected.get("drop_after_commit", 0) > 0 and runs[0].failed > 0, (injected, runs[0])
    assert sum(run.adopted for run in runs) > 0  # a dropped create was found by search, not made again
    assert hub.pending(SYSTEM, ENTITY) == [] and hub.dead_letters(SYSTEM, ENTITY) == []
    assert all(len(customers_of(stripe_api, account)) == 1 for account in accounts)
    assert len(list(stripe_api.iter_customers())) == len(SEED.accounts) + len(accounts)
    assert sorted(hub.links("customer", "salesforce").values()) == sorted(accounts)


def test_bad_accounts_are_dead_lettered_and_the_others_still_land(hub, stripe_api, crm, stripe_control,
                                                                 salesforce_control):
    """Input: four won Accounts: one with the unknown currency "XXX", one with an empty Name, two good ones. Expect
    the two good ones in Stripe, the bad ones in the dead letters with reason and field, and no failed write."""
    bad_currency = plant_account(salesforce_control, "Unknown Currency LLC", ["Closed Won"], currency="XXX")
    no_name = plant_account(salesforce_control, "", ["Closed Won"])
    good = [plant_account(salesforce_control, name, ["Closed Won"]) for name in ("Good One", "Good Two")]
    land_salesforce(hub, crm)

    counts = push(hub, stripe_api, crm)

    assert (counts.written, counts.rejected, counts.failed) == (2, 2, 0)
    assert all(len(customers_of(stripe_api, account)) == 1 for account in good)
    assert customers_of(stripe_api, bad_currency) == [] and customers_of(stripe_api, no_name) == []
    letters = {letter.external_id: letter for letter in hub.dead_letters(SYSTEM, ENTITY)}
    assert set(letters) == {bad_currency, no_name}
    assert letters[bad_currency].field == "CurrencyIsoCode" and "XXX" in letters[bad_currency].reason
    assert letters[no_name].field == "Name" and "no Name" in letters[no_name].reason


def test_a_row_stripe_keeps_refusing_is_dead_lettered_after_max_attempts(hub, stripe_api, crm, stripe_control,
                                                                         salesforce_control, stripe_sandbox, tls):
    """Input: a won Account whose customer create Stripe answers 500 three times, pushed three times (hub.max_attempts)
    by a connector without retries of its own (they would only wait longer here). Expect a failed write each time
    (the asset raises on it), then the row in the dead letters with the error, and no customer."""
    account = plant_account(salesforce_control, "Refused BV", ["Closed Won"])
    land_salesforce(hub, crm)
    stripe_control.post("/_sandbox/faults", json={"status": 500, "count": 3, "method": "POST",
                                                  "path": "/v1/customers"}).raise_for_status()
    creds = stripe_sandbox.credentials()
    impatient = StripeConnector(creds["STRIPE_API_KEY"], creds["STRIPE_API_BASE"], str(tls.bundle_path),
                                max_network_retries=0)
    results = [push(hub, impatient, crm) for _ in range(3)]

    assert [counts.failed for counts in results] == [1, 1, 1]
    assert [counts.dead_lettered for counts in results] == [0, 0, 1]
    [letter] = hub.dead_letters(SYSTEM, ENTITY)
    assert letter.external_id == account and letter.reason.startswith("create failed 3 times: APIError")
    assert hub.pending(SYSTEM, ENTITY) == [] and customers_of(stripe_api, account) == []
    assert hub.pending(WRITE_BACK_SYSTEM, WRITE_BACK_ENTITY) == []


def test_write_back_to_an_account_deleted_meanwhile_is_not_a_failure(hub, stripe_api, crm, stripe_control,
                                                                    salesforce_control):
    """Input: a won Account whose customer is created by a push without a Salesforce connector (the write-back row
    waits), then the Account deleted in Salesforce, then a push with one. Expect the customer kept, the write-back
    row done without a write (Salesforce answers 404), and no failed write."""
    account = plant_account(salesforce_control, "Gone Before Write-back SARL", ["Closed Won"])
    land_salesforce(hub, crm)
    assert push(hub, stripe_api).written == 1
    [waiting] = hub.pending(WRITE_BACK_SYSTEM, WRITE_BACK_ENTITY)
    crm._call(lambda client: client.Account.delete(account))

    counts = push(hub, stripe_api, crm)

    assert (counts.failed, counts.written_back) == (0, 0)
    assert hub.outbox_row(waiting.idempotency_key).status == "done"
    assert len(customers_of(stripe_api, account)) == 1
