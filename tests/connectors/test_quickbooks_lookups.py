"""Finding Concord's own QuickBooks invoices and payments again, with queries real QuickBooks accepts.

QuickBooks refuses a filter on PrivateNote (4001, not filterable on Invoice or Payment), and the sandbox now
does too. So quickbooks_sync finds invoices by DocNumber (Concord writes the Stripe number, cut to 21
characters) and payments by CustomerRef, and adopts only those whose PrivateNote is Concord's "stripe:<id>".

The crash: the push's own steps run up to QuickBooks' answer (rows claimed, writes sent through
connectors.quickbooks_batch with their requestids) and then stop, as a process that dies before
`finish_writes` would. QuickBooks has the record, the hub has no link. The sandbox is then told that every
requestid is past the replay window (POST /_sandbox/requestids/expire), so the rerun cannot lean on replay:
only the lookup stands between it and a duplicate. Everything goes over HTTPS through python-quickbooks.
"""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from connectors.quickbooks import QuickBooksConnector
from connectors.quickbooks_batch import Write, send
from connectors.quickbooks_sync import SYSTEM, plan_invoices, push_customers, push_invoices
from mappings.canonical import Customer, Invoice, InvoiceLine
from mappings.money import Money
from mappings.quickbooks import invoice_to_quickbooks, payment_to_quickbooks
from store.hub import Hub

CUSTOMER = Customer("cus_lookup01", "Lookup Löwe & Söhne KG", email="ap@loewe.example", currency="eur")
LONG_NUMBER = "LOEWE-2026-0000123-0007"  # 23 characters: QuickBooks keeps 21 as DocNumber


@pytest.fixture
def hub(db_url):
    store = Hub(db_url, max_attempts=3)
    store.migrate()
    yield store
    store.dispose()


def _invoice(stripe_id: str, number: str | None, cents: int, status: str = "open") -> Invoice:
    amount = Money(cents, "EUR")
    return Invoice(stripe_id, CUSTOMER.stripe_id, number, status, amount, date(2026, 1, 12), date(2026, 2, 11),
                   (InvoiceLine(f"{stripe_id}:il_1", "Seats", 1, amount),))


def _customer_in_quickbooks(hub: Hub, qb: QuickBooksConnector) -> str:
    hub.upsert_customers([CUSTOMER])
    assert push_customers(hub, qb).written == 1
    return hub.links("customer", SYSTEM)[CUSTOMER.stripe_id]


def _by_hand_invoice(qb: QuickBooksConnector, customer_id: str, doc_number: str, note: str, request: str) -> dict:
    """An invoice a bookkeeper typed into QuickBooks, reusing a number Concord also writes."""
    line = {"DetailType": "SalesItemLineDetail", "Amount": Money(5000, "EUR").to_decimal(),
            "SalesItemLineDetail": {"ItemRef": qb.service_item_ref(), "Qty": 1,
                                    "UnitPrice": Money(5000, "EUR").to_decimal()}}
    return qb.create("Invoice", {"CustomerRef": {"value": customer_id}, "DocNumber": doc_number,
                                 "PrivateNote": note, "Line": [line]}, request)


def _crash_after_quickbooks_wrote(hub: Hub, qb: QuickBooksConnector, entity: str, stripe_id: str) -> dict:
    """Send the pending create of `stripe_id` as the push sends it (attempt counted, body from the mapping, its
    own requestid), then stop before recording it done: what QuickBooks wrote is unknown to the hub."""
    [row] = [row for row in hub.pending(SYSTEM, entity) if row.canonical_key == stripe_id]
    assert hub.claim_attempts([row]) == {row.id}
    invoice = Invoice.from_dict(row.payload["record"])
    customer_id = hub.links("customer", SYSTEM)[invoice.customer_stripe_id]
    if entity == "invoice":
        write = Write(row, "Invoice", "create", invoice_to_quickbooks(invoice, customer_id, qb.service_item_ref()))
    else:
        invoice_id = hub.links("invoice", SYSTEM)[invoice.stripe_id]
        write = Write(row, "Payment", "create", payment_to_quickbooks(invoice, invoice_id, customer_id))
    [outcome] = send(qb, [write], 1, {row.id: row.attempts + 1})
    assert outcome.ok, outcome.error
    assert hub.links(entity, SYSTEM).get(stripe_id) is None  # the crash: not recorded
    return outcome.obj


def _past_replay_window(qb_control: httpx.Client) -> None:
    assert qb_control.post("/_sandbox/requestids/expire").json()["expired"] >= 1


def _creates_since(qb_control: httpx.Client, since: int, path_end: str) -> list[dict]:
    log = qb_control.get("/_sandbox/requests").json()[since:]
    return [entry for entry in log if entry["method"] == "POST" and entry["path"].endswith(path_end)]


def test_rerun_adopts_the_crashed_invoice_by_doc_number_and_never_a_persons(hub, qb, qb_control):
    """Input: a bookkeeper's invoice numbered LONG_NUMBER[:21] with their own note, made first (lower Id); Concord
    writes the Stripe invoice numbered LONG_NUMBER and crashes before mark_done; the replay window passes; a
    second Stripe invoice INV-FRESH-1 whose number a bookkeeper also used, with another Stripe id in the note.
    Expect the rerun to adopt exactly Concord's crashed invoice (one create on the rerun, for INV-FRESH-1),
    link neither bookkeeper's invoice, and leave one QuickBooks invoice per Stripe note."""
    customer_id = _customer_in_quickbooks(hub, qb)
    theirs = _by_hand_invoice(qb, customer_id, LONG_NUMBER[:21], "typed in by hand", "by-hand-1")
    also_theirs = _by_hand_invoice(qb, customer_id, "INV-FRESH-1", "stripe:in_lookup_other", "by-hand-2")
    hub.upsert_invoices([_invoice("in_lookup_crash", LONG_NUMBER, 12000)])
    assert plan_invoices(hub) == 1
    crashed = _crash_after_quickbooks_wrote(hub, qb, "invoice", "in_lookup_crash")
    assert crashed["DocNumber"] == theirs["DocNumber"] and int(theirs["Id"]) < int(crashed["Id"])
    _past_replay_window(qb_control)

    hub.upsert_invoices([_invoice("in_lookup_fresh", "INV-FRESH-1", 3000)])
    since = len(qb_control.get("/_sandbox/requests").json())
    counts = push_invoices(hub, qb)

    assert (counts.adopted, counts.written, counts.failed) == (1, 1, 0)
    links = hub.links("invoice", SYSTEM)
    assert links["in_lookup_crash"] == crashed["Id"]
    assert hub.link_reason("invoice", "in_lookup_crash", SYSTEM) == "found_by_stripe_note"
    assert links["in_lookup_fresh"] not in (theirs["Id"], also_theirs["Id"], crashed["Id"])
    assert len(_creates_since(qb_control, since, "/invoice")) == 1  # only the fresh one was sent
    notes = [invoice["PrivateNote"] for invoice in qb.iter_invoices()]
    assert sorted(notes) == sorted(["typed in by hand", "stripe:in_lookup_other", "stripe:in_lookup_crash",
                                    "stripe:in_lookup_fresh"])
    assert hub.outbox_counts()["pending"] == 0


def test_invoice_without_a_stripe_number_is_found_by_its_customer(hub, qb, qb_control):
    """Input: a Stripe invoice with no number (Concord writes no DocNumber, QuickBooks numbers it 1001...),
    written and crashed before mark_done, replay window past. Expect the rerun to find it among the customer's
    invoices by its note and adopt it: no second create."""
    _customer_in_quickbooks(hub, qb)
    hub.upsert_invoices([_invoice("in_lookup_nonum", None, 4500)])
    plan_invoices(hub)
    crashed = _crash_after_quickbooks_wrote(hub, qb, "invoice", "in_lookup_nonum")
    _past_replay_window(qb_control)
    since = len(qb_control.get("/_sandbox/requests").json())
    counts = push_invoices(hub, qb)
    assert (counts.adopted, counts.written, counts.failed) == (1, 0, 0)
    assert hub.links("invoice", SYSTEM)["in_lookup_nonum"] == crashed["Id"]
    assert _creates_since(qb_control, since, "/invoice") == []
    assert qb.count("Invoice") == 1


def test_rerun_adopts_the_crashed_payment_by_customer_and_never_a_persons(hub, qb, qb_control):
    """Input: two Stripe invoices of one customer, pushed open; a bookkeeper's payment for the same customer on
    their own invoice (PaymentRefNum 1042, their note), made first; both Stripe invoices then paid; Concord writes
    the first one's payment and crashes before mark_done; the replay window passes. Expect the rerun to adopt
    exactly Concord's payment, create only the second's, never link the bookkeeper's, and leave each Stripe
    invoice paid once (balance 0, one payment carrying its note)."""
    customer_id = _customer_in_quickbooks(hub, qb)
    first, second = _invoice("in_lookup_pay1", "INV-PAY-1", 7000), _invoice("in_lookup_pay2", "INV-PAY-2", 2500)
    hub.upsert_invoices([first, second])
    assert push_invoices(hub, qb).written == 2
    desk_invoice = _by_hand_invoice(qb, customer_id, "DESK-7", "", "by-hand-3")
    desk_amount = Money(5000, "EUR").to_decimal()
    theirs = qb.create("Payment", {
        "CustomerRef": {"value": customer_id}, "TotalAmt": desk_amount, "PaymentRefNum": "1042",
        "PrivateNote": "cheque taken at the desk",
        "Line": [{"Amount": desk_amount, "LinkedTxn": [{"TxnId": desk_invoice["Id"], "TxnType": "Invoice"}]}],
    }, "by-hand-4")
    hub.upsert_invoices([_invoice("in_lookup_pay1", "INV-PAY-1", 7000, "paid"),
                         _invoice("in_lookup_pay2", "INV-PAY-2", 2500, "paid")])
    assert plan_invoices(hub) == 2
    crashed = _crash_after_quickbooks_wrote(hub, qb, "payment", "in_lookup_pay1")
    assert int(theirs["Id"]) < int(crashed["Id"])
    _past_replay_window(qb_control)

    since = len(qb_control.get("/_sandbox/requests").json())
    counts = push_invoices(hub, qb)

    assert (counts.adopted, counts.written, counts.failed) == (1, 1, 0)
    links = hub.links("payment", SYSTEM)
    assert links["in_lookup_pay1"] == crashed["Id"]
    assert hub.link_reason("payment", "in_lookup_pay1", SYSTEM) == "found_by_stripe_note"
    assert links["in_lookup_pay2"] not in (theirs["Id"], crashed["Id"])
    assert len(_creates_since(qb_control, since, "/payment")) == 1
    payments = qb.query("SELECT * FROM Payment MAXRESULTS 1000").get("Payment", [])
    assert sorted(payment["PrivateNote"] for payment in payments) == sorted(
        ["cheque taken at the desk", "stripe:in_lookup_pay1", "stripe:in_lookup_pay2"])
    invoice_links = hub.links("invoice", SYSTEM)
    for stripe_id in ("in_lookup_pay1", "in_lookup_pay2"):
        assert qb.get_invoice(invoice_links[stripe_id])["Balance"] == 0


def _payment_rows_read(qb: QuickBooksConnector) -> list[int]:
    """How many Payment rows each query answer the connector's SDK session receives from now on carries (a
    response hook on the real session: an observer, nothing is faked)."""
    read: list[int] = []

    def count(response, *args, **kwargs) -> None:
        if response.request.path_url.split("?")[0].endswith("/query") and b"Payment" in (response.request.body or b""):
            read.append(len(response.json().get("QueryResponse", {}).get("Payment", [])))

    qb.client.session.hooks["response"].append(count)
    return read


def test_payment_lookup_reads_only_payments_dated_since_the_row_was_planned(hub, qb, qb_control):
    """Input: a customer with 12 payments a bookkeeper recorded in 2025 (TxnDate the 15th of each month, each on
    an invoice of theirs); a Stripe invoice of that customer pushed, then paid; Concord writes its payment and
    crashes before mark_done; the replay window passes. Expect the rerun's lookup to read 1 payment row, not 13
    (TxnDate from the day before the outbox row, besides CustomerRef), adopt it, create none, and leave exactly
    one payment carrying the invoice's note."""
    customer_id = _customer_in_quickbooks(hub, qb)
    amount = Money(1000, "EUR").to_decimal()
    for month in range(1, 13):
        desk = _by_hand_invoice(qb, customer_id, f"OLD-{month}", "", f"old-invoice-{month}")
        qb.create("Payment", {
            "CustomerRef": {"value": customer_id}, "TotalAmt": amount, "TxnDate": f"2025-{month:02d}-15",
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": desk["Id"], "TxnType": "Invoice"}]}],
        }, f"old-payment-{month}")
    hub.upsert_invoices([_invoice("in_lookup_many", "INV-MANY-1", 8000)])
    assert push_invoices(hub, qb).written == 1
    hub.upsert_invoices([_invoice("in_lookup_many", "INV-MANY-1", 8000, "paid")])
    assert plan_invoices(hub) == 1
    crashed = _crash_after_quickbooks_wrote(hub, qb, "payment", "in_lookup_many")
    _past_replay_window(qb_control)
    assert qb.count("Payment") == 13

    read = _payment_rows_read(qb)
    since = len(qb_control.get("/_sandbox/requests").json())
    counts = push_invoices(hub, qb)

    assert read == [1]
    assert (counts.adopted, counts.written, counts.failed) == (1, 0, 0)
    assert hub.links("payment", SYSTEM)["in_lookup_many"] == crashed["Id"]
    assert _creates_since(qb_control, since, "/payment") == []
    payments = qb.query("SELECT * FROM Payment MAXRESULTS 1000").get("Payment", [])
    assert [payment["Id"] for payment in payments if payment.get("PrivateNote") == "stripe:in_lookup_many"] == [
        crashed["Id"]]
