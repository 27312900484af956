"""QuickBooks sandbox entities beyond invoices: name lists going inactive, credit memos, refund receipts,
deposits of Undeposited Funds, balanced journal entries, multi-currency, and XSD element names."""

from __future__ import annotations

from decimal import Decimal

import httpx

from sandboxes.quickbooks.schema import ACCEPTED_PROPERTIES
from tests.sandboxes.quickbooks_clients import Api, body, fault_code, new_customer, new_invoice

# Keys QuickBooks adds on read that every IntuitEntity carries (XSD IntuitEntity + the JSON envelope).
_ENVELOPE = {"domain", "sparse", "Id", "SyncToken", "MetaData", "status"}


def created(response: httpx.Response, entity: str) -> dict:
    assert response.status_code == 200, response.text
    return body(response)[entity]


def sales_line(amount: str) -> dict:
    return {"DetailType": "SalesItemLineDetail", "Amount": Decimal(amount),
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}


def paid_invoice(qb_api: Api, customer: dict, amount: str) -> dict:
    invoice = new_invoice(qb_api, customer, [amount])
    payment = {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": Decimal(amount),
               "Line": [{"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]}
    return created(qb_api.post("/payment", payment), "Payment")


def account_balance(qb_api: Api, account_id: str) -> Decimal:
    return body(qb_api.get(f"/account/{account_id}"))["Account"]["CurrentBalance"]


def test_every_key_read_back_is_an_xsd_element(qb_api):
    """Input: one record of each entity (seeded or created) read back -> every top-level key is in its XSD type."""
    customer = new_customer(qb_api, "Schema Check Ltd", "EUR")
    payment = paid_invoice(qb_api, customer, "10.00")
    eur_bank = created(qb_api.post("/account", {"Name": "EUR Bank", "AccountType": "Bank",
                                                "CurrencyRef": {"value": "EUR"}}), "Account")
    created(qb_api.post("/deposit", {"DepositToAccountRef": {"value": eur_bank["Id"]}, "Line": [
        {"Amount": Decimal("10.00"), "LinkedTxn": [{"TxnId": payment["Id"], "TxnType": "Payment"}]}]}), "Deposit")
    created(qb_api.post("/creditmemo", {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line("1.00")]}),
            "CreditMemo")
    created(qb_api.post("/refundreceipt", {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line("1.00")],
                                           "DepositToAccountRef": {"value": eur_bank["Id"]}}), "RefundReceipt")
    created(qb_api.post("/journalentry", {"Line": [
        {"Amount": Decimal("2.00"), "DetailType": "JournalEntryLineDetail",
         "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": {"value": account}}}
        for posting, account in (("Debit", "6"), ("Credit", "5"))]}), "JournalEntry")
    for entity in ACCEPTED_PROPERTIES:
        rows = body(qb_api.query(f"SELECT * FROM {entity}"))["QueryResponse"].get(entity, [])  # noqa: S608
        assert rows, entity
        for row in rows:
            assert set(row) - _ENVELOPE <= ACCEPTED_PROPERTIES[entity], (entity, set(row) - ACCEPTED_PROPERTIES[entity])


def test_customer_goes_inactive_instead_of_deleted(qb_api):
    """Input: delete on a customer (refused), then sparse Active=false; a query, a query on Active, a new
    customer with the old name, and an invoice for the inactive one."""
    customer = new_customer(qb_api, "Acme Rockets, Inc.")
    refused = qb_api.post("/customer", {"Id": customer["Id"], "SyncToken": "0"}, operation="delete")
    assert refused.status_code == 400 and fault_code(refused) == "500"
    inactive = created(qb_api.post("/customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True,
                                                 "Active": False}), "Customer")
    assert inactive["Active"] is False and inactive["DisplayName"] == "Acme Rockets, Inc. (deleted)"
    assert body(qb_api.query("SELECT * FROM Customer"))["QueryResponse"] == {}
    hidden = body(qb_api.query("SELECT * FROM Customer WHERE Active = false"))["QueryResponse"]["Customer"]
    assert [row["Id"] for row in hidden] == [customer["Id"]]
    assert new_customer(qb_api, "Acme Rockets, Inc.")["Id"] != customer["Id"]  # the name is free again
    invoice = qb_api.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line("5.00")]})
    assert invoice.status_code == 400 and fault_code(invoice) == "610"


def test_account_and_item_lists(qb_api):
    """Input: a new Bank account, a duplicate account name, a bad AccountType, a new Service item, an item without
    an income account, then the item made inactive."""
    bank = created(qb_api.post("/account", {"Name": "Payout Bank EUR", "AccountType": "Bank",
                                            "CurrencyRef": {"value": "EUR"}}), "Account")
    assert (bank["Classification"], bank["AccountSubType"], bank["CurrencyRef"]["value"]) == ("Asset", "Checking",
                                                                                              "EUR")
    duplicate = qb_api.post("/account", {"Name": "Payout Bank EUR", "AccountType": "Bank"})
    assert duplicate.status_code == 400 and fault_code(duplicate) == "6240"
    assert fault_code(qb_api.post("/account", {"Name": "Odd", "AccountType": "Piggy Bank"})) == "2170"
    item = created(qb_api.post("/item", {"Name": "Seats", "Type": "Service", "UnitPrice": Decimal("12.50"),
                                         "IncomeAccountRef": {"value": "1"}}), "Item")
    assert item["IncomeAccountRef"] == {"value": "1", "name": "Services"} and item["UnitPrice"] == Decimal("12.50")
    assert fault_code(qb_api.post("/item", {"Name": "Loose", "Type": "Service"})) == "2020"
    gone = created(qb_api.post("/item", {"Id": item["Id"], "SyncToken": "0", "sparse": True, "Active": False}), "Item")
    assert gone["Name"] == "Seats (deleted)" and gone["SyncToken"] == "1"
    assert body(qb_api.query("SELECT * FROM Item WHERE Name = 'Seats'"))["QueryResponse"] == {}
    tax_codes = body(qb_api.query("SELECT * FROM TaxCode"))["QueryResponse"]["TaxCode"]
    assert {code["Id"] for code in tax_codes} == {"TAX", "NON"}
    assert fault_code(qb_api.post("/taxcode", {"Name": "VAT"})) == "500"  # tax codes are read-only over the API


def test_credit_memo_lowers_customer_balance_and_refund_pays_out(qb_api):
    """Input: a 40.00 invoice, a 15.00 credit memo, then a 15.00 refund receipt from Checking (account 4)."""
    customer = new_customer(qb_api, "Crème Brûlée Café")
    new_invoice(qb_api, customer, ["40.00"])
    memo = created(qb_api.post("/creditmemo", {"CustomerRef": {"value": customer["Id"]},
                                               "Line": [sales_line("15.00")]}), "CreditMemo")
    assert (memo["TotalAmt"], memo["RemainingCredit"], memo["Balance"]) == (Decimal("15.00"),) * 3
    assert memo["DocNumber"] == "1002" and memo["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert body(qb_api.get(f"/customer/{customer['Id']}"))["Customer"]["Balance"] == Decimal("25.00")
    missing_account = qb_api.post("/refundreceipt", {"CustomerRef": {"value": customer["Id"]},
                                                     "Line": [sales_line("15.00")]})
    assert fault_code(missing_account) == "2020"
    refund = created(qb_api.post("/refundreceipt", {
        "CustomerRef": {"value": customer["Id"]}, "Line": [sales_line("15.00")], "PaymentRefNum": "re_123",
        "DepositToAccountRef": {"value": "4"}}), "RefundReceipt")
    assert refund["TotalAmt"] == Decimal("15.00") and refund["Balance"] == Decimal("0.00")
    assert refund["DepositToAccountRef"] == {"value": "4", "name": "Checking"}
    assert account_balance(qb_api, "4") == Decimal("-15.00")
    deleted = qb_api.post("/refundreceipt", {"Id": refund["Id"], "SyncToken": "0"}, operation="delete")
    assert body(deleted)["RefundReceipt"]["status"] == "Deleted"
    assert account_balance(qb_api, "4") == Decimal("0.00")


def test_foreign_currency_credit_memo_has_home_amounts(qb_api):
    """Input: a EUR customer's credit memo of 100.00 at ExchangeRate 1.1 -> HomeTotalAmt 110.00; a USD memo for
    the EUR customer is refused."""
    customer = new_customer(qb_api, "Zoë Müller GmbH", "EUR")
    memo = created(qb_api.post("/creditmemo", {"CustomerRef": {"value": customer["Id"]}, "ExchangeRate": Decimal("1.1"),
                                               "Line": [sales_line("100.00")]}), "CreditMemo")
    assert memo["CurrencyRef"] == {"value": "EUR", "name": "Euro"} and memo["HomeTotalAmt"] == Decimal("110.00")
    wrong = qb_api.post("/creditmemo", {"CustomerRef": {"value": customer["Id"]}, "CurrencyRef": {"value": "USD"},
                                        "Line": [sales_line("1.00")]})
    assert fault_code(wrong) == "6000"


def test_deposit_moves_payments_out_of_undeposited_funds(qb_api):
    """Input: two paid invoices (30.00, 20.00), a deposit to Checking of both payments with a -1.45 fee line;
    then a second deposit of the same payment, a wrong amount, a deleted deposited payment, the deposit deleted."""
    customer = new_customer(qb_api, "Acme Rockets, Inc.")
    first, second = paid_invoice(qb_api, customer, "30.00"), paid_invoice(qb_api, customer, "20.00")
    assert account_balance(qb_api, "3") == Decimal("50.00")
    lines = [{"Amount": Decimal("30.00"), "LinkedTxn": [{"TxnId": first["Id"], "TxnType": "Payment"}]},
             {"Amount": Decimal("20.00"), "LinkedTxn": [{"TxnId": second["Id"], "TxnType": "Payment"}]},
             {"Amount": Decimal("-1.45"), "DetailType": "DepositLineDetail",
              "DepositLineDetail": {"AccountRef": {"value": "6"}}}]
    deposit = created(qb_api.post("/deposit", {"DepositToAccountRef": {"value": "4"}, "Line": lines}), "Deposit")
    assert deposit["TotalAmt"] == Decimal("48.55") and [line["LineNum"] for line in deposit["Line"]] == [1, 2, 3]
    assert deposit["Line"][0]["LinkedTxn"] == [{"TxnId": first["Id"], "TxnType": "Payment", "TxnLineId": "0"}]
    assert deposit["Line"][2]["DepositLineDetail"]["AccountRef"] == {"value": "6", "name": "Merchant Fees"}
    assert (account_balance(qb_api, "3"), account_balance(qb_api, "4")) == (Decimal("0.00"), Decimal("48.55"))
    again = qb_api.post("/deposit", {"DepositToAccountRef": {"value": "4"}, "Line": lines[:1]})
    assert fault_code(again) == "6000"
    blocked = qb_api.post("/payment", {"Id": first["Id"], "SyncToken": first["SyncToken"]}, operation="delete")
    assert fault_code(blocked) == "6540"
    qb_api.post("/deposit", {"Id": deposit["Id"], "SyncToken": "0"}, operation="delete")
    assert account_balance(qb_api, "3") == Decimal("50.00")
    wrong_amount = qb_api.post("/deposit", {"DepositToAccountRef": {"value": "4"}, "Line": [
        {"Amount": Decimal("29.00"), "LinkedTxn": [{"TxnId": first["Id"], "TxnType": "Payment"}]}]})
    assert fault_code(wrong_amount) == "6000"


def test_journal_entry_must_balance(qb_api):
    """Input: a journal entry 10.00 debit fees / 10.00 credit Stripe Clearing (ok), one with 10.00 vs 9.99
    (unbalanced), and one posting to A/R without a customer."""
    def line(posting: str, account: str, amount: str, **detail) -> dict:
        return {"Amount": Decimal(amount), "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": {"value": account}, **detail}}

    entry = created(qb_api.post("/journalentry", {"TxnDate": "2026-02-01", "Line": [
        line("Debit", "6", "10.00"), line("Credit", "5", "10.00")]}), "JournalEntry")
    assert entry["TotalAmt"] == Decimal("10.00") and entry["TxnDate"] == "2026-02-01"
    assert entry["Line"][1]["JournalEntryLineDetail"]["AccountRef"] == {"value": "5", "name": "Stripe Clearing"}
    assert account_balance(qb_api, "5") == Decimal("-10.00")
    unbalanced = qb_api.post("/journalentry", {"Line": [line("Debit", "6", "10.00"), line("Credit", "5", "9.99")]})
    assert unbalanced.status_code == 400 and fault_code(unbalanced) == "6000"
    assert "balance" in body(unbalanced)["Fault"]["Error"][0]["Detail"]
    no_customer = qb_api.post("/journalentry", {"Line": [line("Debit", "2", "5.00"), line("Credit", "1", "5.00")]})
    assert fault_code(no_customer) == "6000"
    customer = new_customer(qb_api, "Tokyo Ramen Works")
    with_customer = qb_api.post("/journalentry", {"Line": [
        line("Debit", "2", "5.00", Entity={"Type": "Customer", "EntityRef": {"value": customer["Id"]}}),
        line("Credit", "1", "5.00")]})
    assert with_customer.status_code == 200, with_customer.text
