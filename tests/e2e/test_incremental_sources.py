"""Source assets read incrementally after their first run, on both hub backends, against the real sandboxes.

Every change below goes through the vendors' own SDK / API over HTTPS (stripe.StripeClient, the QuickBooks
connector); the sandbox control API only moves clocks, plants malformed objects and reports the request log.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from decimal import Decimal

import stripe
from dagster import AssetKey, materialize

from connectors.quickbooks import QuickBooksConnector
from connectors.stripe import StripeConnector, http_client_trusting
from connectors.stripe_entities import BY_NAME, ENTITIES
from tests.e2e.conftest import control

DAY = 86_400
EVENT_ENTITIES = [entity.name for entity in ENTITIES if entity.changes == "events"]


# -- helpers --------------------------------------------------------------------------------------------


def _sdk() -> stripe.StripeClient:
    return stripe.StripeClient(os.environ["STRIPE_API_KEY"], base_addresses={"api": os.environ["STRIPE_API_BASE"]},
                               http_client=http_client_trusting(os.environ["CONCORD_CA_BUNDLE"]))


def _qb() -> QuickBooksConnector:
    return QuickBooksConnector(os.environ["QUICKBOOKS_BASE_URL"], os.environ["QUICKBOOKS_REALM_ID"],
                               os.environ["QUICKBOOKS_ACCESS_TOKEN"], os.environ["CONCORD_CA_BUNDLE"])


def _requests(sandboxes, system: str) -> int:
    return len(control(sandboxes, system, "/_sandbox/requests"))


def _run(dagster_instance, *keys: list[str]):
    """Materialize the given assets (every Stripe source when none are given) and return {asset: metadata}."""
    from assets.definitions import ALL_ASSETS, defs

    selection = [AssetKey(key) for key in keys] or [AssetKey(["stripe", entity.asset]) for entity in ENTITIES]
    result = materialize(ALL_ASSETS, selection=selection, resources=defs.resources, instance=dagster_instance)
    assert result.success
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        found[materialization.asset_key.to_user_string()] = {
            name: value.value for name, value in materialization.metadata.items()}
    return result, found


def _stripe_full_read() -> dict[str, dict[str, dict]]:
    """A fresh full read of every Stripe entity with a connector of its own (not the assets' code path)."""
    reader = StripeConnector(os.environ["STRIPE_API_KEY"], os.environ["STRIPE_API_BASE"],
                             os.environ["CONCORD_CA_BUNDLE"])
    return {entity.name: {row["id"]: row for row in reader.list_in_windows(entity, end=2_000_000_000)}
            for entity in ENTITIES}


def _assert_landed_equals_full_read(hub) -> None:
    full = _stripe_full_read()
    for entity in ENTITIES:
        landed = dict(hub.raw_payloads("stripe", entity.name))
        assert set(landed) == set(full[entity.name]), entity.name
        differing = {record_id: sorted(key for key in row.keys() | full[entity.name][record_id].keys()
                                       if row.get(key) != full[entity.name][record_id].get(key))
                     for record_id, row in landed.items() if row != full[entity.name][record_id]}
        assert differing == {}, entity.name


def _qb_full_read_equals_landed(hub) -> None:
    from store.hashing import to_jsonable

    qb = _qb()
    for entity, rows in (("customer", qb.iter_customers()), ("invoice", qb.iter_invoices())):
        full = {row["Id"]: to_jsonable(row) for row in rows}
        assert dict(hub.raw_payloads("quickbooks", entity)) == full, entity


def _warnings(dagster_instance, result) -> list[str]:
    return [entry.user_message for entry in dagster_instance.all_logs(result.run_id)
            if entry.level >= 30 and entry.user_message]


# -- Stripe ---------------------------------------------------------------------------------------------


def test_second_stripe_run_is_incremental_and_catches_every_change(concord_env, hub, sandboxes, dagster_instance):
    """Input: the seeded account read in full; then through the SDK 3 customers renamed, 1 customer deleted,
    a new invoice finalized, one charge partly refunded. Expect the second run incremental everywhere, every
    change landed, far fewer requests than the first run, and the landed rows equal to a full read."""
    before = _requests(sandboxes, "stripe")
    _, first = _run(dagster_instance)
    first_requests = _requests(sandboxes, "stripe") - before
    assert {first[f"stripe/{e.asset}"]["mode"] for e in ENTITIES} == {"full"}
    assert first["stripe/customers"]["inserted"] == 12 and first["stripe/charges"]["inserted"] > 0

    client = _sdk()
    customers = sorted(customer_id for customer_id, _ in hub.raw_payloads("stripe", "customer"))
    renamed, removed, billed = customers[:3], customers[3], customers[4]
    for number, customer_id in enumerate(renamed):
        client.v1.customers.update(customer_id, {"name": f"Renamed {number}"})
    client.v1.customers.delete(removed)
    draft = client.v1.invoices.create({"customer": billed, "auto_advance": False, "collection_method":
                                       "send_invoice", "days_until_due": 30})
    client.v1.invoice_items.create({"customer": billed, "invoice": draft.id, "amount": 2500,
                                    "currency": draft.currency, "description": "Incremental test"})
    finalized = client.v1.invoices.finalize_invoice(draft.id)
    charge = next(payload for _, payload in hub.raw_payloads("stripe", "charge") if payload["currency"] == "usd")
    refund = client.v1.refunds.create({"charge": charge["id"], "amount": 100})

    before = _requests(sandboxes, "stripe")
    _, second = _run(dagster_instance)
    log = control(sandboxes, "stripe", "/_sandbox/requests")[before:]
    second_requests = len(log)
    # one events read serves every entity: a probe of one event, then one page of the changes
    assert [request["query"].get("limit") for request in log if request["path"] == "/v1/events"] == ["1", "100"]
    assert {second[f"stripe/{e.asset}"]["mode"] for e in ENTITIES} == {"incremental"}
    assert not any(second[f"stripe/{e.asset}"]["cursor_gap"] for e in ENTITIES)
    assert second_requests * 4 < first_requests, (first_requests, second_requests)
    print(f"stripe requests: full run {first_requests}, incremental run {second_requests}")

    customers_meta = second["stripe/customers"]
    # updated: the 3 renamed, and the invoiced customer (its next_invoice_sequence moved, with no event of its own)
    assert (customers_meta["updated"], customers_meta["deleted"], customers_meta["inserted"]) == (4, 1, 0)
    landed = dict(hub.raw_payloads("stripe", "customer"))
    assert [landed[customer_id]["name"] for customer_id in renamed] == ["Renamed 0", "Renamed 1", "Renamed 2"]
    assert removed not in landed
    invoice = dict(hub.raw_payloads("stripe", "invoice"))[draft.id]
    assert invoice["status"] == "open" and invoice["number"] == finalized.number and invoice["total"] == 2500
    assert dict(hub.raw_payloads("stripe", "refund"))[refund.id]["amount"] == 100
    assert dict(hub.raw_payloads("stripe", "charge"))[charge["id"]]["amount_refunded"] == \
        charge["amount_refunded"] + 100
    subscriptions = {payload["customer"]: payload for _, payload in hub.raw_payloads("stripe", "subscription")}
    assert subscriptions[removed]["status"] == "canceled"  # deleting a customer cancels its subscription
    _assert_landed_equals_full_read(hub)

    _, third = _run(dagster_instance)  # nothing changed: the re-read of the cursor's second lands nothing new
    assert all(third[f"stripe/{e.asset}"]["inserted"] + third[f"stripe/{e.asset}"]["updated"]
               + third[f"stripe/{e.asset}"]["deleted"] == 0 for e in ENTITIES)


def test_changes_made_by_stripe_on_its_own_clock_are_landed_incrementally(concord_env, hub, sandboxes,
                                                                         dagster_instance):
    """Input: a full run and a refund; then the Stripe clock moved 1, 3, 10 and 12 days with a run after each
    (renewal invoices, subscription periods, payouts and balance transactions move on Stripe's clock, with
    events or, for balance transactions, none). Expect every run incremental and the landed rows equal to a
    full read after each."""
    _run(dagster_instance)
    charge = next(payload for _, payload in hub.raw_payloads("stripe", "charge") if payload["currency"] == "usd")
    _sdk().v1.refunds.create({"charge": charge["id"], "amount": 100})
    renewals = 0
    for days in (1, 3, 10, 12):
        control(sandboxes, "stripe", "/_sandbox/clock", {"advance_seconds": days * DAY})
        _, metadata = _run(dagster_instance)
        assert {metadata[f"stripe/{e.asset}"]["mode"] for e in ENTITIES} == {"incremental"}, days
        renewals += metadata["stripe/invoices"]["inserted"]
        _assert_landed_equals_full_read(hub)
    assert renewals > 0  # the subscriptions did renew on the way


def test_customers_created_during_a_run_in_shared_seconds_land_once(concord_env, hub, dagster_instance):
    """Input: after a full run, 60 customers created back to back by another thread while the next run reads
    (many share one second, and the run's cursor falls inside that burst), then one more run. Expect every one
    landed exactly once: inserted over both runs is 60, and the landed customers equal a full read."""
    _run(dagster_instance, ["stripe", "customers"])
    client = _sdk()
    created: list = []
    writer = threading.Thread(target=lambda: created.extend(
        client.v1.customers.create({"name": f"Burst {number}"}) for number in range(60)))
    writer.start()
    _, during = _run(dagster_instance, ["stripe", "customers"])
    writer.join()
    _, after = _run(dagster_instance, ["stripe", "customers"])
    assert max(Counter(customer.created for customer in created).values()) >= 3  # seconds really are shared
    assert during["stripe/customers"]["inserted"] + after["stripe/customers"]["inserted"] == 60
    assert during["stripe/customers"]["mode"] == after["stripe/customers"]["mode"] == "incremental"
    landed = dict(hub.raw_payloads("stripe", "customer"))
    assert {customer.id for customer in created} <= set(landed)
    full = _stripe_full_read()["customer"]
    assert landed == full


def test_a_cursor_older_than_thirty_days_is_a_gap_backfilled_and_flagged(concord_env, hub, sandboxes,
                                                                         dagster_instance):
    """Input: a full run; a customer deleted through the SDK; the Stripe clock moved 31 days (the delete's event
    leaves the 30-day log); another customer renamed (so Stripe's events show its clock). Expect a warning,
    a full read of every event-fed entity with `cursor_gap`, the deleted customer gone, the rename landed, and
    a reconciliation flag per entity; the run after that is incremental again."""
    _run(dagster_instance)
    client = _sdk()
    customers = sorted(customer_id for customer_id, _ in hub.raw_payloads("stripe", "customer"))
    client.v1.customers.delete(customers[0])
    control(sandboxes, "stripe", "/_sandbox/clock", {"advance_seconds": 31 * DAY})
    client.v1.customers.update(customers[1], {"name": "After the gap"})

    result, gap = _run(dagster_instance)
    for name in EVENT_ENTITIES:
        metadata = gap[f"stripe/{BY_NAME[name].asset}"]
        assert metadata["cursor_gap"] is True and metadata["mode"] == "full", name
    assert gap["stripe/balance_transactions"]["cursor_gap"] is False  # listed by `created`: no log to outrun
    assert gap["stripe/customers"]["deleted"] == 1
    landed = dict(hub.raw_payloads("stripe", "customer"))
    assert customers[0] not in landed and landed[customers[1]]["name"] == "After the gap"
    assert any("30 days" in message and "stripe customer" in message for message in _warnings(dagster_instance,
                                                                                             result))
    flagged = {(system, entity): reason for system, entity, _, reason in hub.reconciliation_flags()}
    assert flagged == {("stripe", name): "cursor_gap" for name in EVENT_ENTITIES}
    _assert_landed_equals_full_read(hub)

    _, later = _run(dagster_instance)
    assert {later[f"stripe/{e.asset}"]["mode"] for e in ENTITIES} == {"incremental"}
    assert not any(later[f"stripe/{e.asset}"]["cursor_gap"] for e in ENTITIES)


def test_malformed_stripe_records_are_dead_lettered_and_the_rest_land(concord_env, hub, sandboxes, dagster_instance):
    """Input, planted with POST /_sandbox/objects: an invoice in the unknown currency 'xts', an invoice whose
    amount_due is -500, an invoice whose total is the text "1000", a customer whose email is the number 12345.
    Expect each in the dead letters with its field and reason, none landed, every seeded record landed."""
    template = {"object": "invoice", "status": "open", "total": 1000, "subtotal": 1000, "amount_due": 1000,
                "amount_paid": 0, "amount_remaining": 1000, "created": 1770000000, "currency": "usd"}
    owner = _sdk().v1.customers.list({"limit": 1}).data[0].id
    planted = {
        "in_plantedxts000000000000001": ({**template, "currency": "xts"}, "currency", "unknown currency"),
        "in_plantednegative0000000001": ({**template, "amount_due": -500}, "amount_due", "negative amount_due"),
        "in_plantedtexttotal000000001": ({**template, "total": "1000"}, "total", "total is str"),
    }
    for invoice_id, (fields, _, _) in planted.items():
        control(sandboxes, "stripe", "/_sandbox/objects", {**fields, "id": invoice_id, "customer": owner})
    control(sandboxes, "stripe", "/_sandbox/objects", {"object": "customer", "id": "cus_plantedbademail1",
                                                       "name": "Bad Email", "email": 12345})

    _, first = _run(dagster_instance, ["stripe", "customers"], ["stripe", "invoices"])
    letters = {(letter.entity, letter.external_id): letter for letter in hub.dead_letters("stripe")}
    for invoice_id, (_, field, reason) in planted.items():
        assert letters[("invoice", invoice_id)].field == field
        assert reason in letters[("invoice", invoice_id)].reason
    assert letters[("customer", "cus_plantedbademail1")].field == "email"
    assert "email is int" in letters[("customer", "cus_plantedbademail1")].reason
    assert len(letters) == 4
    assert first["stripe/invoices"]["dead_lettered"] == 3 and first["stripe/customers"]["dead_lettered"] == 1
    landed_invoices = dict(hub.raw_payloads("stripe", "invoice"))
    assert not set(planted) & set(landed_invoices)
    assert "cus_plantedbademail1" not in dict(hub.raw_payloads("stripe", "customer"))
    assert len(landed_invoices) == first["stripe/invoices"]["inserted"] > 0
    assert len(hub.raw_payloads("stripe", "customer")) == 12


# -- QuickBooks -----------------------------------------------------------------------------------------


def _fill_quickbooks(qb: QuickBooksConnector, customers: int, invoices_each: int) -> None:
    """Customers and invoices written through the API, as Concord's sync writes them."""
    item = qb.service_item_ref()
    for number in range(customers):
        customer = qb.create_customer({"DisplayName": f"Books {number}"}, f"fill-customer-{number}")
        for index in range(invoices_each):
            amount = Decimal(f"{10 + number}.{index:02d}")
            line = {"Amount": amount, "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": item, "Qty": 1, "UnitPrice": amount}}
            qb.create_invoice({"CustomerRef": {"value": customer["Id"]}, "Line": [line],
                               "PrivateNote": f"fill {number}-{index}"}, f"fill-invoice-{number}-{index}")


def test_quickbooks_sources_read_incrementally_and_equal_a_full_read(concord_env, hub, sandboxes, dagster_instance):
    """Input: 12 customers with 2 invoices each written over the API and read at once (the first, full read runs
    in the seconds of those writes, as the assets run right after Concord's); then one invoice's amount raised,
    one invoice deleted, one customer made inactive, 25 customers created back to back (sharing seconds), and
    the next read at once. Expect it incremental, with a fixed handful of requests, and the landed copy
    equal to a full read after every run, including the writes of the current second."""
    qb = _qb()
    _fill_quickbooks(qb, customers=12, invoices_each=2)
    before = _requests(sandboxes, "quickbooks")
    _, full = _run(dagster_instance, ["quickbooks", "customers"], ["quickbooks", "invoices"])
    full_requests = _requests(sandboxes, "quickbooks") - before
    assert full["quickbooks/invoices"]["mode"] == full["quickbooks/customers"]["mode"] == "full"
    assert full["quickbooks/invoices"]["inserted"] == 24
    _qb_full_read_equals_landed(hub)

    invoices = sorted(qb.iter_invoices(), key=lambda row: int(row["Id"]))
    changed, deleted = invoices[0], invoices[1]
    line = next(item for item in changed["Line"] if item.get("DetailType") == "SalesItemLineDetail")
    line["Amount"] += Decimal("1.00")
    line["SalesItemLineDetail"]["Qty"], line["SalesItemLineDetail"]["UnitPrice"] = 1, line["Amount"]
    qb.update_invoice({"Id": changed["Id"], "SyncToken": changed["SyncToken"], "sparse": True,
                       "Line": changed["Line"], "CustomerRef": changed["CustomerRef"]}, request_id="inc-amount")
    qb.delete_invoice(deleted["Id"], deleted["SyncToken"], request_id="inc-delete")
    inactive = next(row for row in qb.iter_customers() if row["Id"] != changed["CustomerRef"]["value"]
                    and row["Id"] != deleted["CustomerRef"]["value"])
    qb.update_customer({"Id": inactive["Id"], "SyncToken": inactive["SyncToken"], "sparse": True, "Active": False},
                       request_id="inc-inactive")
    created = [qb.create_customer({"DisplayName": f"Tie {number}"}, f"inc-tie-{number}") for number in range(25)]
    assert max(Counter(row["MetaData"]["LastUpdatedTime"] for row in created).values()) >= 2

    before = _requests(sandboxes, "quickbooks")
    _, second = _run(dagster_instance, ["quickbooks", "customers"], ["quickbooks", "invoices"])
    second_requests = _requests(sandboxes, "quickbooks") - before
    assert second["quickbooks/invoices"]["mode"] == second["quickbooks/customers"]["mode"] == "incremental"
    assert second["quickbooks/invoices"]["updated"] == 1 and second["quickbooks/invoices"]["deleted"] == 1
    assert second["quickbooks/customers"]["inserted"] == 25 and second["quickbooks/customers"]["deleted"] == 1
    # the customer of both changed invoices, and those of invoices in the first read's last second (re-read)
    assert second["quickbooks/invoices"]["customers_re_read"] >= 1
    # per entity a query and a CDC call, plus one IN query for the customers of changed invoices (their
    # Balance moved); a full read is one query per 1000 records, so at this size the two are alike
    assert second_requests <= 5 and full_requests == 2
    print(f"quickbooks requests: full run {full_requests}, incremental run {second_requests}")
    _qb_full_read_equals_landed(hub)
    landed = dict(hub.raw_payloads("quickbooks", "invoice"))
    assert deleted["Id"] not in landed and Decimal(landed[changed["Id"]]["TotalAmt"]) == Decimal(
        str(changed["TotalAmt"])) + 1

    _, third = _run(dagster_instance, ["quickbooks", "customers"], ["quickbooks", "invoices"])
    assert third["quickbooks/customers"]["inserted"] == third["quickbooks/invoices"]["inserted"] == 0
    _qb_full_read_equals_landed(hub)


def test_a_quickbooks_cursor_older_than_cdc_keeps_is_a_gap(concord_env, hub, sandboxes, dagster_instance):
    """Input: books written over the API and read, then 31 days on the QuickBooks sandbox clock and one invoice
    deleted. Expect the next read of customers and invoices to warn, read in full with `cursor_gap`, flag both
    for reconciliation, and still equal a full read (the deletion included)."""
    qb = _qb()
    _fill_quickbooks(qb, customers=3, invoices_each=2)
    _run(dagster_instance, ["quickbooks", "customers"], ["quickbooks", "invoices"])
    control(sandboxes, "quickbooks", "/_sandbox/clock", {"advance_seconds": 31 * DAY})
    gone = next(qb.iter_invoices())
    qb.delete_invoice(gone["Id"], gone["SyncToken"], request_id="gap-delete")
    result, gap = _run(dagster_instance, ["quickbooks", "customers"], ["quickbooks", "invoices"])
    for asset in ("quickbooks/customers", "quickbooks/invoices"):
        assert gap[asset]["cursor_gap"] is True and gap[asset]["mode"] == "full"
    assert any("30 days" in message for message in _warnings(dagster_instance, result))
    flagged = {(system, entity) for system, entity, _, _ in hub.reconciliation_flags()}
    assert flagged == {("quickbooks", "customer"), ("quickbooks", "invoice")}
    assert gap["quickbooks/invoices"]["deleted"] == 1
    _qb_full_read_equals_landed(hub)


def test_malformed_quickbooks_records_are_dead_lettered_and_the_rest_land(concord_env, hub, sandboxes,
                                                                          dagster_instance):
    """Input: 3 customers with 2 invoices each written over the API, then through POST /_sandbox/corrupt (what a
    faulty QuickBooks would send): an invoice in the unknown currency XTS, one with TotalAmt -5, one whose Balance
    is the text "12.00", one without Id, and a customer whose DisplayName is the number 12345. Expect each in the
    dead letters with its field and reason and none landed, the other invoices and customers landed; then, after
    one more invoice's Balance turns negative, an incremental run dead-letters that one too and lands the rest."""
    qb = _qb()
    _fill_quickbooks(qb, customers=3, invoices_each=2)
    invoices = sorted(qb.iter_invoices(), key=lambda row: int(row["Id"]))
    planted = {  # QuickBooks Id -> (what reads show instead, field, reason)
        invoices[0]["Id"]: ({"CurrencyRef": {"value": "XTS"}}, "CurrencyRef", "unknown currency 'XTS'"),
        invoices[1]["Id"]: ({"TotalAmt": -5}, "TotalAmt", "negative TotalAmt (-5)"),
        invoices[2]["Id"]: ({"Balance": "12.00"}, "Balance", "Balance is str, not an exact number"),
    }
    for invoice_id, (shown, _, _) in planted.items():
        control(sandboxes, "quickbooks", f"/_sandbox/corrupt/invoice/{invoice_id}", shown)
    control(sandboxes, "quickbooks", f"/_sandbox/corrupt/invoice/{invoices[3]['Id']}", {"Id": None})
    customer_id = next(row["Id"] for row in qb.iter_customers() if row["DisplayName"] == "Books 1")
    control(sandboxes, "quickbooks", f"/_sandbox/corrupt/customer/{customer_id}", {"DisplayName": 12345})

    _, first = _run(dagster_instance, ["quickbooks", "customers"], ["quickbooks", "invoices"])
    letters = {(letter.entity, letter.external_id): letter for letter in hub.dead_letters("quickbooks")}
    for invoice_id, (_, field, reason) in planted.items():
        assert letters[("invoice", invoice_id)].field == field
        assert reason in letters[("invoice", invoice_id)].reason
    assert letters[("invoice", "(missing id)")].field == "Id"
    assert "missing Id" in letters[("invoice", "(missing id)")].reason
    assert letters[("customer", customer_id)].field == "DisplayName"
    assert "DisplayName is int, not text" in letters[("customer", customer_id)].reason
    assert len(letters) == 5
    assert first["quickbooks/invoices"]["dead_lettered"] == 4 and first["quickbooks/customers"]["dead_lettered"] == 1
    landed = dict(hub.raw_payloads("quickbooks", "invoice"))
    assert set(landed) == {invoices[4]["Id"], invoices[5]["Id"]}
    assert len(hub.raw_payloads("quickbooks", "customer")) == 2 and customer_id not in dict(
        hub.raw_payloads("quickbooks", "customer"))

    control(sandboxes, "quickbooks", "/_sandbox/clock", {"advance_seconds": 2})
    control(sandboxes, "quickbooks", f"/_sandbox/corrupt/invoice/{invoices[4]['Id']}", {"Balance": -1})
    _, second = _run(dagster_instance, ["quickbooks", "customers"], ["quickbooks", "invoices"])
    assert second["quickbooks/invoices"]["mode"] == "incremental"
    assert second["quickbooks/invoices"]["dead_lettered"] >= 1
    letter = {letter.external_id: letter for letter in hub.dead_letters("quickbooks", "invoice")}[invoices[4]["Id"]]
    assert letter.field == "Balance" and "negative Balance (-1)" in letter.reason
    assert invoices[5]["Id"] in dict(hub.raw_payloads("quickbooks", "invoice"))
