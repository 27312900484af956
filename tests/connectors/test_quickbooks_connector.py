"""QuickBooksConnector driving the real python-quickbooks SDK against the QuickBooks sandbox over HTTPS."""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from quickbooks.exceptions import AuthorizationException, QuickbooksException, ValidationException

from connectors.qbo_query import Filter, quote, select
from connectors.quickbooks import QuickBooksConnector, encode_payload
from mappings.canonical import Customer, Invoice, InvoiceLine
from mappings.money import Money
from mappings.quickbooks import (
    customer_to_quickbooks,
    invoice_from_quickbooks,
    invoice_to_quickbooks,
    payment_to_quickbooks,
)

TRICKY = "O'Brien \\ \"x\""


def _customer(qb: QuickBooksConnector, name: str, currency: str = "usd", request_id: str | None = None) -> dict:
    key = str(zlib.crc32(name.encode("utf-8")))
    payload = customer_to_quickbooks(Customer("cus_" + key, name, currency=currency))
    return qb.create_customer(payload, request_id or "c-" + key)


def _invoice(stripe_id: str, currency: str, amounts: list[int]) -> Invoice:
    lines = tuple(
        InvoiceLine(f"{stripe_id}:il_{n}", f"Seats {n}", 3, Money(amount, currency))
        for n, amount in enumerate(amounts, start=1)
    )
    total = sum((line.amount for line in lines[1:]), lines[0].amount)
    return Invoice(stripe_id, "cus_1", "NUM-" + stripe_id[-4:], "open", total, date(2026, 1, 11), None, lines)


def test_quote_escapes_backslash_before_apostrophe():
    """Input: O'Brien \\ "x" -> 'O\\'Brien \\\\ "x"' (backslash doubled first, then apostrophe escaped)."""
    assert quote(TRICKY) == "'O\\'Brien \\\\ \"x\"'"
    assert quote("it\\'s") == "'it\\\\\\'s'"  # a backslash already before an apostrophe stays literal
    assert quote("") == "''"


def test_select_builds_statements_only_from_quoted_values():
    """Input: a filter value with an apostrophe and a malicious property name -> quoted value; name refused."""
    statement = select("Invoice", [Filter("PrivateNote", "=", "stripe:in_' OR '1")], order_by="Id",
                       start_position=3, max_results=2)
    assert statement == ("SELECT * FROM Invoice WHERE PrivateNote = 'stripe:in_\\' OR \\'1' "
                         "ORDERBY Id ASC STARTPOSITION 3 MAXRESULTS 2")
    with pytest.raises(ValueError):
        Filter("Id = '1' OR Id", "=", "2").render()


def test_payload_encoding_keeps_decimals_exact():
    """Input: Decimal('0.1') + Decimal('0.2') in a payload -> the JSON text says 0.3, a float is refused."""
    encoded = encode_payload({"Amount": Decimal("0.1") + Decimal("0.2"), "Name": "Zoë"})
    assert encoded == '{"Amount": 0.3, "Name": "Zoë"}'.encode()
    with pytest.raises(TypeError):
        encode_payload({"Amount": 0.3})


def test_find_customer_by_tricky_display_name(qb):
    """Input: customers `O'Brien \\ "x"` and `O'Brien` -> each lookup finds exactly its own customer."""
    tricky = _customer(qb, TRICKY)
    plain = _customer(qb, "O'Brien")
    assert qb.find_customer_by_display_name(TRICKY)["Id"] == tricky["Id"]
    assert qb.find_customer_by_display_name("O'Brien")["Id"] == plain["Id"]
    assert qb.find_customer_by_display_name("O'Brien \\") is None


def test_non_ascii_names_survive_the_query_body(qb):
    """Input: customers named 株式会社サクラ and Zoë Müller GmbH -> found by DisplayName (UTF-8 query body)."""
    for name in ["株式会社サクラ", "Zoë Müller GmbH"]:
        created = _customer(qb, name, "jpy" if name.startswith("株") else "eur")
        assert qb.find_customer_by_display_name(name)["Id"] == created["Id"]


def test_duplicate_display_name_raises_6240(qb):
    """Input: two creates with the same DisplayName and different requestids -> SDK exception with code 6240."""
    _customer(qb, "Acme Rockets, Inc.", request_id="dup-1")
    with pytest.raises(QuickbooksException) as caught:
        _customer(qb, "Acme Rockets, Inc.", request_id="dup-2")
    assert caught.value.error_code == 6240


def test_paging_across_pages(qb):
    """Input: 5 customers and 5 invoices read with page_size 2 -> all 5 each, in Id order, over 3 queries each."""
    customer = _customer(qb, "Tokyo Ramen Works", "jpy")
    for n in range(4):
        _customer(qb, f"Customer {n}")
    for n in range(5):
        body = invoice_to_quickbooks(_invoice(f"in_page{n:04d}", "JPY", [7400]), customer["Id"], qb.service_item_ref())
        qb.create_invoice(body, f"inv-page-{n}")
    assert [c["Id"] for c in qb.iter_customers(page_size=2)] == ["1", "2", "3", "4", "5"]
    invoices = list(qb.iter_invoices(page_size=2))
    assert [i["PrivateNote"] for i in invoices] == [f"stripe:in_page{n:04d}" for n in range(5)]
    assert qb.count("Invoice") == 5
    with pytest.raises(ValueError):
        list(qb.iter_customers(page_size=1001))


def test_requestid_replay_writes_once(qb, qb_control):
    """Input: create_invoice twice with requestid "inv-once" -> one invoice, same Id, second call replayed."""
    customer = _customer(qb, "Björk & Dóttir ehf.", "gbp")
    body = invoice_to_quickbooks(_invoice("in_once0001", "GBP", [3900]), customer["Id"], qb.service_item_ref())
    first = qb.create_invoice(body, "inv-once")
    second = qb.create_invoice(body, "inv-once")
    assert first["Id"] == second["Id"]
    assert qb.count("Invoice") == 1
    log = [entry for entry in qb_control.get("/_sandbox/requests").json() if entry["requestid"] == "inv-once"]
    assert [entry["replayed"] for entry in log] == [False, True]
    with pytest.raises(ValueError):
        qb.create_invoice(body, "r" * 51)


def test_invoice_round_trip_through_quickbooks(qb):
    """Input: a KWD invoice with a line whose amount does not divide by its quantity (3 x 10.000 KWD) ->
    QuickBooks accepts it (no 6070) and maps back to the same total and lines; found by DocNumber and private note."""
    customer = _customer(qb, "Al-Khaleej Trading W.L.L.", "kwd")
    invoice = _invoice("in_kwd00001", "KWD", [10000, 15250])
    created = qb.create_invoice(invoice_to_quickbooks(invoice, customer["Id"], qb.service_item_ref()), "inv-kwd")
    assert created["TotalAmt"] == Decimal("25.250") and isinstance(created["TotalAmt"], Decimal)
    found = qb.find_invoice("NUM-0001", "stripe:in_kwd00001")
    back = invoice_from_quickbooks(found, {customer["Id"]: "cus_1"})
    assert back.total == invoice.total and back.customer_stripe_id == "cus_1"
    assert [(line.quantity, line.amount) for line in back.lines] == [
        (line.quantity, line.amount) for line in invoice.lines]
    assert qb.find_invoice("NUM-0001", "stripe:in_other") is None

    payment = payment_to_quickbooks(invoice, created["Id"], customer["Id"], stripe_payment_id="ch_1")
    qb.create_payment(payment, "pay-kwd")
    assert invoice_from_quickbooks(qb.get_invoice(created["Id"])).status == "paid"


def test_stale_sync_token_raises_5010(qb):
    """Input: two sparse updates both sent with SyncToken "0" -> the second raises code 5010."""
    customer = _customer(qb, "Crème Brûlée Café", "eur")
    created = qb.create_invoice(
        invoice_to_quickbooks(_invoice("in_stale0001", "EUR", [4500]), customer["Id"], qb.service_item_ref()), "s-1")
    qb.update_invoice({"Id": created["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2026-02-01"}, "s-2")
    with pytest.raises(QuickbooksException) as caught:
        qb.update_invoice({"Id": created["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2026-03-01"}, "s-3")
    assert caught.value.error_code == 5010


def test_sparse_update_changes_only_the_given_field(qb):
    """Input: a sparse update of DueDate only -> DueDate changes; lines, note, number and total stay."""
    customer = _customer(qb, "Ærøskøbing Bikes ApS", "eur")
    created = qb.create_invoice(
        invoice_to_quickbooks(_invoice("in_sparse001", "EUR", [4500, 9000]), customer["Id"], qb.service_item_ref()),
        "sp-1")
    updated = qb.update_invoice(
        {"Id": created["Id"], "SyncToken": created["SyncToken"], "sparse": True, "DueDate": "2026-04-30"}, "sp-2")
    assert updated["DueDate"] == "2026-04-30" and updated["SyncToken"] == "1"
    unchanged = ("Line", "PrivateNote", "DocNumber", "TotalAmt", "CustomerRef", "TxnDate", "CurrencyRef")
    assert {key: updated[key] for key in unchanged} == {key: created[key] for key in unchanged}


def test_delete_removes_invoice_from_queries(qb):
    """Input: delete_invoice on one of two invoices -> queries and count see only the other; a read raises 610."""
    customer = _customer(qb, "Núñez y Compañía S.A.")
    kept, gone = (
        qb.create_invoice(invoice_to_quickbooks(_invoice(stripe_id, "USD", [4900]), customer["Id"],
                                                qb.service_item_ref()), "del-" + stripe_id)
        for stripe_id in ("in_keep00001", "in_gone00001")
    )
    qb.delete_invoice(gone["Id"], gone["SyncToken"], "del-it")
    assert [invoice["Id"] for invoice in qb.iter_invoices()] == [kept["Id"]]
    assert qb.find_invoice("NUM-0001", "stripe:in_gone00001") is None
    with pytest.raises(QuickbooksException) as caught:
        qb.get_invoice(gone["Id"])
    assert caught.value.error_code == 610


def test_bad_token_raises_authorization_exception(qb_sandbox, tls):
    """Input: a connector holding a wrong access token -> AuthorizationException on the first read."""
    creds = qb_sandbox.credentials()
    wrong = QuickBooksConnector(creds["QUICKBOOKS_BASE_URL"], creds["QUICKBOOKS_REALM_ID"], "not-the-token",
                                ca_bundle=str(tls.bundle_path))
    with pytest.raises(AuthorizationException) as caught:
        wrong.service_item_ref()
    assert caught.value.error_code == 401


def test_throttling_is_retried_and_query_errors_are_not(qb, qb_control):
    """Input: two injected 429s before a read -> the read succeeds on the third attempt; a bad query
    raises ValidationException 4000 at once."""
    qb_control.post("/_sandbox/faults", json={"status": 429, "times": 2}).raise_for_status()
    assert qb.service_item_ref()["name"] == "Services"
    with pytest.raises(ValidationException) as caught:
        qb.query("SELECT * FROM Customer WHERE")
    assert caught.value.error_code == 4000


def test_from_env_reads_the_sandbox_credentials(qb_sandbox, tls, qb_control):
    """Input: the sandbox's credentials() plus CONCORD_CA_BUNDLE as the environment -> a working connector."""
    qb_control.post("/_sandbox/reset").raise_for_status()
    connector = QuickBooksConnector.from_env({**qb_sandbox.credentials(), "CONCORD_CA_BUNDLE": str(tls.bundle_path)})
    assert connector.service_item_ref() == {"value": "1", "name": "Services"}


def test_changed_since_reads_only_later_records(qb, qb_control):
    """Input: customer Early, the sandbox clock moved one hour, customer Late; iter_customers(changed_since=
    Early's LastUpdatedTime + 1 minute) -> only Late; changed_since=Early's time itself -> both (>= bound)."""
    early = _customer(qb, "Early Bird Ltd")
    qb_control.post("/_sandbox/clock", json={"advance_seconds": 3600}).raise_for_status()
    _customer(qb, "Late Riser Ltd")
    since = datetime.fromisoformat(early["MetaData"]["LastUpdatedTime"])
    later = [c["DisplayName"] for c in qb.iter_customers(changed_since=since + timedelta(minutes=1))]
    assert later == ["Late Riser Ltd"]
    assert [c["DisplayName"] for c in qb.iter_customers(changed_since=since)] == ["Early Bird Ltd", "Late Riser Ltd"]
