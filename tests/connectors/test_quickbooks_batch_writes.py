"""Batched, sparse and re-sendable QuickBooks writes: quickbooks_sync driving python-quickbooks against the
QuickBooks sandbox over HTTPS, with the hub on SQLite and PostgreSQL.

Request bodies are read from what the SDK's requests session actually sent (a response hook on the real
session: nothing is faked); the sandbox's own request log (GET /_sandbox/requests) gives paths,
requestids and replays, but it does not record bodies.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal

import httpx
import pytest
import requests
from pyrate_limiter import Duration, Rate

from connectors.outbox_keys import MAX_KEY_LENGTH, batch_request_id, idempotency_key, request_id
from connectors.quickbooks import QuickBooksConnector
from connectors.quickbooks_batch import row_request_id
from connectors.quickbooks_sync import SYSTEM, plan_invoice_updates, plan_invoices, push_customers, push_invoices
from mappings.canonical import Customer, Invoice, InvoiceLine
from mappings.money import Money
from sandboxes.faults import FaultProfile
from store.admin import forget_sync
from store.hub import Hub
from tests.connectors.sandbox_clients import quickbooks_connector

# Only drops after a committed write (no 5xx, no truncation), so every lost answer in these tests is one.
DROPS = FaultProfile("drops", "connections dropped after committed writes", drop_after_commit=0.5)
DROP_SEED_WITH_RETRIES = 3  # with this seed a batch answer is lost and the retried batch is replayed
FLAKY_SEED = 2  # with this seed `flaky` throws 5xx, truncations and drops, and batches get replayed
DROP_SEED_NO_RETRIES = 8  # with this seed the first lost answer is the first invoice batch's


@pytest.fixture
def hub(db_url):
    store = Hub(db_url, max_attempts=2)
    store.migrate()
    yield store
    store.dispose()


def _sent_writes(qb: QuickBooksConnector) -> list[tuple[str, dict]]:
    """(path, JSON body) of every write the connector's HTTP session sends from now on (queries left out)."""
    sent: list[tuple[str, dict]] = []

    def record(response: requests.Response, *args, **kwargs) -> None:
        request = response.request
        path = request.path_url.split("?")[0]
        if request.method == "POST" and not path.endswith("/query"):
            sent.append((path, json.loads(request.body, parse_float=Decimal)))

    qb.client.session.hooks["response"].append(record)
    return sent


def _batches(qb_control: httpx.Client, since: int = 0) -> list[dict]:
    return [entry for entry in qb_control.get("/_sandbox/requests").json()[since:] if entry["path"].endswith("/batch")]


def _customers(count: int) -> list[Customer]:
    return [Customer(f"cus_batch{n:04d}", f"Batch Customer {n}", email=f"c{n}@example.com", currency="usd")
            for n in range(count)]


def _invoice(n: int, customer: Customer) -> Invoice:
    stripe_id = f"in_batch{n:05d}"
    amount = Money(1000 + n, "USD")
    return Invoice(stripe_id, customer.stripe_id, f"B-{n}", "open", amount, date(2026, 1, 11), date(2026, 2, 10),
                   (InvoiceLine(f"{stripe_id}:il_1", "Seats", 2, amount),))


def _company(hub: Hub, qb: QuickBooksConnector, customers: int, invoices: int) -> list[Customer]:
    people = _customers(customers)
    hub.upsert_customers(people)
    assert push_customers(hub, qb, batch_size=30).written == customers
    hub.upsert_invoices([_invoice(n, people[n % customers]) for n in range(invoices)])
    return people


def _notes(qb: QuickBooksConnector) -> list[str]:
    return [invoice["PrivateNote"] for invoice in qb.iter_invoices()]


def test_65_invoices_go_in_three_batches(hub, qb, qb_control):
    """Input: 5 customers and 65 open invoices, pushed with batch_size 30 -> 3 batch calls of 30, 30 and 5
    items (bId = the outbox key), each with its own requestid of at most 50 chars; 65 invoices, linked."""
    _company(hub, qb, 5, 65)
    since = len(qb_control.get("/_sandbox/requests").json())
    sent = _sent_writes(qb)
    counts = push_invoices(hub, qb, batch_size=30)
    assert (counts.written, counts.failed, counts.adopted) == (65, 0, 0)
    batches = _batches(qb_control, since)
    assert len(batches) == 3 and all(entry["status"] == 200 and not entry["replayed"] for entry in batches)
    assert [len(body["BatchItemRequest"]) for _, body in sent] == [30, 30, 5]
    ids = [entry["requestid"] for entry in batches]
    assert len(set(ids)) == 3 and all(0 < len(rid) <= MAX_KEY_LENGTH for rid in ids)
    bids = [item["bId"] for _, body in sent for item in body["BatchItemRequest"]]
    assert sorted(bids) == sorted(idempotency_key("invoice", "create", f"in_batch{n:05d}") for n in range(65))
    assert sorted(_notes(qb)) == sorted(f"stripe:in_batch{n:05d}" for n in range(65))
    assert len(hub.links("invoice", SYSTEM)) == 65 and hub.outbox_counts()["pending"] == 0


def test_same_named_customers_in_one_batch_are_adopted_or_told_apart(hub, qb, qb_control):
    """Input: a bookkeeper's own QuickBooks customer "Twin Peaks Ltd", then three Stripe customers of that name
    and two others, pushed in one batch -> the first Stripe one adopts the bookkeeper's customer, the other two
    are created as "Twin Peaks Ltd (<stripe id>)": no 6240, one batch call, every row done."""
    existing = qb.create_customer({"DisplayName": "Twin Peaks Ltd"}, "made-by-a-person")
    twins = [Customer(f"cus_twin{n}", "Twin Peaks Ltd", currency="usd") for n in range(3)]
    hub.upsert_customers([*twins, *_customers(2)])
    since = len(qb_control.get("/_sandbox/requests").json())
    counts = push_customers(hub, qb, batch_size=30)
    assert (counts.adopted, counts.written, counts.failed) == (1, 4, 0)
    assert len(_batches(qb_control, since)) == 1
    links = hub.links("customer", SYSTEM)
    assert links["cus_twin0"] == existing["Id"]
    assert hub.link_reason("customer", "cus_twin0", SYSTEM) == "adopted_by_display_name"
    names = {qb.get_customer(links[f"cus_twin{n}"])["DisplayName"] for n in (1, 2)}
    assert names == {"Twin Peaks Ltd (cus_twin1)", "Twin Peaks Ltd (cus_twin2)"}
    assert hub.outbox_counts() == {"pending": 0, "done": 5, "failed": 0}


def test_batch_calls_are_paced_by_their_own_limit(hub, qb, qb_sandbox, tls):
    """Input: 65 invoices through a connector whose batch limit is 1 batch a second (QuickBooks' is 40 a
    minute) and whose request limit is generous -> 3 batch calls that cannot all go within 2 seconds."""
    _company(hub, qb, 5, 65)
    creds = qb_sandbox.credentials()
    paced = QuickBooksConnector(creds["QUICKBOOKS_BASE_URL"], creds["QUICKBOOKS_REALM_ID"],
                                creds["QUICKBOOKS_ACCESS_TOKEN"], ca_bundle=str(tls.bundle_path),
                                rate_limits=[Rate(1000, Duration.SECOND)],
                                batch_rate_limits=[Rate(1, Duration.SECOND)])
    started = time.monotonic()
    assert push_invoices(hub, paced, batch_size=30).written == 65
    assert time.monotonic() - started >= 2.0


def test_one_bad_item_fails_alone_and_reaches_the_dead_letters(hub, qb, qb_control):
    """Input: 65 invoices, one of them (in_batch00007) for a customer the bookkeeper made inactive in
    QuickBooks (a reference QuickBooks refuses: Fault 610). Push twice with max_attempts 2 -> the other 64
    land in the first run; the bad one fails alone each time, then sits in the dead letters with its reason."""
    people = _company(hub, qb, 5, 64)
    gone = Customer("cus_batchgone", "Closed Down Ltd", currency="usd")
    hub.upsert_customers([gone])
    push_customers(hub, qb, batch_size=30)
    qb_control.post(f"/_sandbox/edit/customer/{hub.lookup('customer', gone.stripe_id, SYSTEM)}",
                    json={"Active": False}).raise_for_status()
    bad = _invoice(7, gone)
    hub.upsert_invoices([bad, *[_invoice(n, people[n % 5]) for n in range(64, 65)]])

    first = push_invoices(hub, qb, batch_size=30)
    assert (first.written, first.failed, first.dead_lettered) == (64, 1, 0)
    row = hub.outbox_row(idempotency_key("invoice", "create", bad.stripe_id))
    assert row.status == "failed" and row.attempts == 1 and row.last_error.startswith("QuickBooks fault 610")
    assert hub.dead_letters() == []

    sent = _sent_writes(qb)
    since = len(qb_control.get("/_sandbox/requests").json())
    second = push_invoices(hub, qb, batch_size=30)
    assert (second.written, second.failed, second.dead_lettered) == (0, 1, 1)
    assert [[item["bId"] for item in body["BatchItemRequest"]] for _, body in sent] == [[row.idempotency_key]]
    assert [entry["replayed"] for entry in _batches(qb_control, since)] == [False]  # evaluated again, not replayed
    [letter] = hub.dead_letters(SYSTEM, "invoice")
    assert letter.external_id == bad.stripe_id
    assert "610" in letter.reason and "inactive" in letter.reason and "2 times" in letter.reason
    assert len(_notes(qb)) == 64 and f"stripe:{bad.stripe_id}" not in _notes(qb)
    assert push_invoices(hub, qb, batch_size=30).failed == 0  # out of the outbox's pending rows now
    assert len(sent) == 1


def test_batch_answer_lost_after_commit_is_replayed_by_its_requestid(hub, qb, qb_sandbox, tls, qb_control):
    """Input: 65 invoices pushed while connections drop after committed writes (seeded), with retries ->
    a lost batch answer is retried with the same requestid and replayed; exactly one invoice each."""
    _company(hub, qb, 5, 65)
    since = len(qb_control.get("/_sandbox/requests").json())
    qb_sandbox.inject_faults(DROPS, DROP_SEED_WITH_RETRIES)
    dropping = quickbooks_connector(qb_sandbox, tls, max_attempts=8)
    counts = push_invoices(hub, dropping, batch_size=30)
    injected = qb_control.get("/_sandbox/fault-profile").json()["injected"]
    qb_sandbox.inject_faults(None, 0)
    assert injected.get("drop_after_commit", 0) > 0
    batches = _batches(qb_control, since)
    replays = [entry["requestid"] for entry in batches if entry["replayed"]]
    assert replays, "this seed must lose at least one batch answer"
    firsts = {entry["requestid"] for entry in batches if not entry["replayed"]}
    assert set(replays) <= firsts and len(firsts) == 3
    assert counts.written == 65 and counts.failed == 0
    notes = _notes(qb)
    assert len(notes) == 65 and len(set(notes)) == 65


def test_flaky_quickbooks_still_gets_every_invoice_and_payment_exactly_once(hub, qb, qb_sandbox, tls, qb_control):
    """Input: 65 invoices, every third one paid, pushed in batches while the `flaky` profile (seeded) injects
    5xx, connections dropped after commits and truncated bodies -> 65 invoices and 22 payments, one each."""
    people = _company(hub, qb, 5, 0)
    hub.upsert_invoices([replace(_invoice(n, people[n % 5]), status="paid" if n % 3 == 0 else "open")
                         for n in range(65)])
    since = len(qb_control.get("/_sandbox/requests").json())
    qb_sandbox.inject_faults("flaky", FLAKY_SEED)
    counts = push_invoices(hub, quickbooks_connector(qb_sandbox, tls, max_attempts=8), batch_size=30)
    injected = qb_control.get("/_sandbox/fault-profile").json()["injected"]
    qb_sandbox.inject_faults(None, 0)
    assert injected.get("drop_after_commit", 0) > 0, f"seed {FLAKY_SEED} must drop connections: {injected}"
    assert any(entry["replayed"] for entry in _batches(qb_control, since)), "a lost batch answer was replayed"
    assert (counts.written, counts.failed, counts.waiting) == (65 + 22, 0, 0)
    notes = _notes(qb)
    assert len(notes) == 65 and len(set(notes)) == 65
    payments = qb.query("SELECT * FROM Payment MAXRESULTS 1000").get("Payment", [])
    assert sorted(payment["PrivateNote"] for payment in payments) == sorted(
        f"stripe:in_batch{n:05d}" for n in range(0, 65, 3))
    assert all(qb.get_invoice(hub.lookup("invoice", f"in_batch{n:05d}", SYSTEM))["Balance"] == 0
               for n in range(0, 65, 3))


def test_batch_dropped_after_commit_then_rerun_adopts_instead_of_duplicating(hub, qb, qb_sandbox, tls, qb_control):
    """Input: 65 invoices; a connector without retries; the connection drops after QuickBooks committed a
    batch, so the push dies not knowing. The rerun (faults off) looks those rows up first, adopts what landed
    and creates only the rest: exactly one invoice each, every row done."""
    _company(hub, qb, 5, 65)
    since = len(qb_control.get("/_sandbox/requests").json())
    qb_sandbox.inject_faults(DROPS, DROP_SEED_NO_RETRIES)
    with pytest.raises(requests.exceptions.ConnectionError):
        push_invoices(hub, quickbooks_connector(qb_sandbox, tls, max_attempts=1), batch_size=30)
    qb_sandbox.inject_faults(None, 0)
    lost = _batches(qb_control, since)
    assert lost and lost[-1]["status"] == 200, "the last batch was committed before its connection dropped"
    landed = len(_notes(qb))
    unrecorded = landed - (hub.outbox_counts()["done"] - 5)  # in QuickBooks, but their rows are not done
    assert unrecorded in (30, 5), "exactly the lost batch's rows are unrecorded"

    rerun = push_invoices(hub, qb, batch_size=30)
    assert rerun.adopted == unrecorded and rerun.written == 65 - landed and rerun.failed == 0
    notes = _notes(qb)
    assert len(notes) == 65 and len(set(notes)) == 65
    assert hub.outbox_counts()["pending"] == 0 and len(hub.links("invoice", SYSTEM)) == 65


def test_stale_synctoken_after_a_bookkeepers_edit_keeps_their_field_and_applies_concords(hub, qb, qb_control):
    """Input: an invoice in QuickBooks; Stripe moves its due date to 2026-03-31 and Concord plans the update
    (SyncToken 0); then a bookkeeper adds a CustomerMemo in QuickBooks (SyncToken 1). The push meets 5010,
    re-reads and re-applies only DueDate, sparse, on SyncToken 1: the memo stays, the due date changes."""
    people = _company(hub, qb, 1, 1)
    invoice = _invoice(0, people[0])
    assert push_invoices(hub, qb, batch_size=30).written == 1
    qb_id = hub.lookup("invoice", invoice.stripe_id, SYSTEM)
    hub.upsert_invoices([replace(invoice, due_on=date(2026, 3, 31))])
    assert plan_invoice_updates(hub, qb) == 1
    memo = {"value": "Deliver to the side door"}
    qb_control.post(f"/_sandbox/edit/invoice/{qb_id}", json={"CustomerMemo": memo}).raise_for_status()

    sent = _sent_writes(qb)
    counts = push_invoices(hub, qb, batch_size=30)
    assert (counts.updated, counts.failed) == (1, 0)
    [(batch_path, batch), (path, resend)] = sent
    assert batch_path.endswith("/batch") and path.endswith("/invoice")
    [item] = batch["BatchItemRequest"]
    assert item["operation"] == "update"
    assert item["Invoice"] == {"Id": qb_id, "SyncToken": "0", "sparse": True, "DueDate": "2026-03-31"}
    assert resend == {"Id": qb_id, "SyncToken": "1", "sparse": True, "DueDate": "2026-03-31"}
    now = qb.get_invoice(qb_id)
    assert now["DueDate"] == "2026-03-31" and now["CustomerMemo"] == memo and now["SyncToken"] == "2"
    assert now["Line"][0]["Amount"] == Decimal("10.00") and now["PrivateNote"] == "stripe:" + invoice.stripe_id
    assert push_invoices(hub, qb, batch_size=30).updated == 0  # nothing changed since: nothing sent


def test_a_newer_update_supersedes_an_older_one_still_pending(hub, qb):
    """Input: an invoice's due date changed twice in Stripe (03-31, then 04-30), each change planned before any
    push -> one update item is sent (the newest, 04-30, from the last written base); both rows end done; then
    moving the due date back to 02-10 (the value first written) is a new update, not a replay."""
    people = _company(hub, qb, 1, 1)
    invoice = _invoice(0, people[0])
    push_invoices(hub, qb, batch_size=30)
    qb_id = hub.lookup("invoice", invoice.stripe_id, SYSTEM)
    for due in (date(2026, 3, 31), date(2026, 4, 30)):
        hub.upsert_invoices([replace(invoice, due_on=due)])
        assert plan_invoice_updates(hub, qb) == 1
    sent = _sent_writes(qb)
    assert push_invoices(hub, qb, batch_size=30).updated == 1
    [(_, batch)] = sent
    assert [item["Invoice"] for item in batch["BatchItemRequest"]] == [
        {"Id": qb_id, "SyncToken": "0", "sparse": True, "DueDate": "2026-04-30"}]
    assert qb.get_invoice(qb_id)["DueDate"] == "2026-04-30"
    assert hub.outbox_counts() == {"pending": 0, "done": 4, "failed": 0}
    hub.upsert_invoices([invoice])
    assert push_invoices(hub, qb, batch_size=30).updated == 1
    assert qb.get_invoice(qb_id)["DueDate"] == "2026-02-10"


def test_updates_are_sparse_and_leave_fields_concord_does_not_own(hub, qb, qb_control):
    """Input: a customer in QuickBooks to which a bookkeeper added a phone number; Stripe changes its e-mail.
    Pushed one write per call (batch_size 1) -> one POST /customer carrying only Id, SyncToken, sparse and
    PrimaryEmailAddr; the phone and the name stay as they were."""
    [person] = _company(hub, qb, 1, 0)
    qb_id = hub.lookup("customer", person.stripe_id, SYSTEM)
    phone = {"FreeFormNumber": "+1 555 0100"}
    qb_control.post(f"/_sandbox/edit/customer/{qb_id}", json={"PrimaryPhone": phone}).raise_for_status()
    hub.upsert_customers([replace(person, email="billing@example.com")])
    sent = _sent_writes(qb)
    counts = push_customers(hub, qb, batch_size=1)
    assert (counts.updated, counts.written, counts.failed) == (1, 0, 0)
    [(path, body)] = sent
    assert path.endswith("/customer")
    assert body == {"Id": qb_id, "SyncToken": "1", "sparse": True,
                    "PrimaryEmailAddr": {"Address": "billing@example.com"}}
    now = qb.get_customer(qb_id)
    assert now["PrimaryEmailAddr"]["Address"] == "billing@example.com" and now["PrimaryPhone"] == phone
    assert now["DisplayName"] == person.name


def test_resync_after_forget_sync_is_a_new_request_and_a_retry_is_the_same(hub, qb, qb_control):
    """Input: an invoice synced, then deleted in QuickBooks on purpose and forgotten (forget_sync); the next
    push (one write per call) sends a new requestid, so QuickBooks creates it again instead of replaying the
    answer about the deleted copy. A row re-read keeps its requestid, and every requestid fits in 50 chars."""
    people = _company(hub, qb, 1, 1)
    invoice = _invoice(0, people[0])
    push_invoices(hub, qb, batch_size=1)
    first_id = hub.lookup("invoice", invoice.stripe_id, SYSTEM)
    key = idempotency_key("invoice", "create", invoice.stripe_id)
    first_request = row_request_id(hub.outbox_row(key))
    qb.delete_invoice(first_id, qb.get_invoice(first_id)["SyncToken"], "delete-on-purpose")
    forget_sync(hub, "invoice", invoice.stripe_id, SYSTEM)

    counts = push_invoices(hub, qb, batch_size=1)
    assert counts.written == 1 and counts.adopted == 0
    row = hub.outbox_row(key)
    second_request = row_request_id(row)
    assert second_request != first_request and row_request_id(hub.outbox_row(key)) == second_request
    second_id = hub.lookup("invoice", invoice.stripe_id, SYSTEM)
    assert second_id != first_id and qb.get_invoice(second_id)["PrivateNote"] == "stripe:" + invoice.stripe_id
    creates = [entry for entry in qb_control.get("/_sandbox/requests").json() if entry["path"].endswith("/invoice")
               and entry["requestid"] in (first_request, second_request)]
    assert [(entry["requestid"], entry["replayed"]) for entry in creates] == [(first_request, False),
                                                                           (second_request, False)]
    assert len(_notes(qb)) == 1


def test_request_ids_fit_quickbooks_limit_and_are_deterministic():
    """Input: keys of 14 to 60+ characters, with and without a generation -> requestids of 1..50 chars; the
    same (key, generation) always gives the same id, another generation another id; batch ids likewise."""
    long_key = idempotency_key("payment", "create", "in_" + "x" * 60)
    for key in ("invoice-create-in_1", idempotency_key("invoice", "create", "in_1QkW8cLkdIwHu7ixXbMgm3aT"), long_key):
        for generation in (None, "lz3k1q2w9a", "0"):
            rid = request_id(key, generation)
            assert 0 < len(rid) <= MAX_KEY_LENGTH and rid == request_id(key, generation)
        assert request_id(key, "lz3k1q2w9a") != request_id(key, "lz3k1q2w9b")
    assert request_id("invoice-create-in_1", None) == "invoice-create-in_1"  # rows from before generations
    batch = batch_request_id(["a#1", "b#1"])
    assert len(batch) <= MAX_KEY_LENGTH and batch == batch_request_id(["a#1", "b#1"])
    assert batch != batch_request_id(["a#1", "b#2"])


def test_connector_refuses_full_updates_and_oversized_batches(qb):
    """Input: an update with sparse False, an update without SyncToken, a batch of 31 items, an empty batch ->
    ValueError each, before anything is sent."""
    with pytest.raises(ValueError, match="sparse"):
        qb.update_invoice({"Id": "1", "SyncToken": "0", "sparse": False, "DueDate": "2026-01-01"}, "full-1")
    with pytest.raises(ValueError, match="SyncToken"):
        qb.update("Customer", {"Id": "1", "PrimaryEmailAddr": {"Address": "a@example.com"}}, "full-2")
    item = {"bId": "x", "operation": "create", "Customer": {"DisplayName": "X"}}
    with pytest.raises(ValueError, match="1..30"):
        qb.batch([{**item, "bId": str(n)} for n in range(31)], "too-big")
    with pytest.raises(ValueError, match="1..30"):
        qb.batch([], "empty")


def test_two_pushers_that_read_the_same_rows_send_each_row_once(hub, qb, qb_control):
    """Input: 65 invoices planned. Claims from one snapshot after another pusher claimed 5 of its rows -> the
    other 60 only. Then two pushers read the pending rows at the same moment (the second one's snapshot taken
    before the first pushed) -> the first sends all 65, the second claims none: no duplicate."""
    _company(hub, qb, 5, 65)
    plan_invoices(hub)
    snapshot = hub.pending(SYSTEM, "invoice")
    assert hub.claim_attempts(snapshot[:5]) == {row.id for row in snapshot[:5]}  # another pusher took 5
    assert hub.claim_attempts(snapshot) == {row.id for row in snapshot[5:]}
    snapshot = hub.pending(SYSTEM, "invoice")
    assert push_invoices(hub, qb, batch_size=30).written == 65
    assert hub.claim_attempts(snapshot) == set()  # what the second pusher's claim gets
    assert hub.outbox_row(snapshot[0].idempotency_key).attempts == 2
    assert len(_notes(qb)) == 65
