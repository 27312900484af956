"""Deposits, journal entries, and the ledger that gives balance-sheet accounts their CurrentBalance.

A Deposit moves payments out of Undeposited Funds into a bank account (lines with LinkedTxn to a
Payment, whose full amount must be deposited, once) and can add other lines booked to any account,
negative for fees taken off a payout. A JournalEntry posts debits and credits that must balance.
Every transaction posts to the ledger in the home currency (amount x ExchangeRate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandboxes.quickbooks import faults, values
from sandboxes.quickbooks.schema import HOME_CURRENCY, MAX_DOC_NUMBER, MAX_PRIVATE_NOTE

if TYPE_CHECKING:
    from sandboxes.quickbooks.company import Record

DEPOSIT_TO_ACCOUNT_TYPES = ("Bank", "Other Current Asset")
POSTING_TYPES = ("Debit", "Credit")
RECEIVABLE_ACCOUNT_ID = "2"  # the seeded Accounts Receivable (A/R)
UNDEPOSITED_FUNDS_ID = "3"
CREDIT_NORMAL = ("Liability", "Equity")  # balance-sheet classes whose balance grows with credits


class BankingRules:
    """Mixed into Company; relies on its records, deposit links and reference helpers."""

    records: dict[str, dict[str, Record]]
    deposited: dict[str, str]
    _exchange_rate: Callable[[dict, str], Decimal]
    _sales_total: Callable[[Record], Decimal]
    _active_reference: Callable[[str, Any, str], tuple[Record, dict]]
    _touch: Callable[[Record], None]

    # ---- shared -----------------------------------------------------------------------------
    def _common_transaction_fields(self, fields: dict) -> None:
        if "TxnDate" in fields:
            fields["TxnDate"] = values.txn_date(fields["TxnDate"], "TxnDate")
        if "PrivateNote" in fields:
            values.text(fields["PrivateNote"], "PrivateNote", MAX_PRIVATE_NOTE)
        if "DocNumber" in fields:
            values.text(fields["DocNumber"], "DocNumber", MAX_DOC_NUMBER)

    def _lines(self, fields: dict) -> list:
        lines = fields.get("Line")
        if not isinstance(lines, list) or not lines or not all(isinstance(line, dict) for line in lines):
            raise faults.required_missing("Line")
        return lines

    def _render_ledger_txn(self, record: Record, total: Decimal) -> dict:
        fields = record.fields
        currency = fields["CurrencyRef"]["value"]
        lines = [{"Id": str(number), "LineNum": number, **line} for number, line in enumerate(fields["Line"], start=1)]
        body = {**fields, "TxnDate": fields.get("TxnDate") or record.created[:10], "Line": lines,
                "TotalAmt": values.money(total, currency)}
        if currency != HOME_CURRENCY:
            body["HomeTotalAmt"] = values.money(total * fields["ExchangeRate"], HOME_CURRENCY)
        return body

    # ---- deposits ---------------------------------------------------------------------------
    def _validate_deposit(self, fields: dict, existing: Record | None) -> tuple[dict, dict]:
        fields = dict(fields)
        if "DepositToAccountRef" not in fields:
            raise faults.required_missing("DepositToAccountRef")
        account, fields["DepositToAccountRef"] = self._active_reference(
            "Account", fields["DepositToAccountRef"], "DepositToAccountRef")
        if account.fields["AccountType"] not in DEPOSIT_TO_ACCOUNT_TYPES or account.id == UNDEPOSITED_FUNDS_ID:
            raise faults.business_validation("You can only deposit to a bank or other current asset account.")
        currency = account.fields["CurrencyRef"]["value"]
        if "CurrencyRef" in fields and values.currency_code(fields["CurrencyRef"]) != currency:
            raise faults.business_validation(
                f"The deposit currency must match the currency of the account it is deposited to ({currency}).")
        fields["CurrencyRef"] = values.currency_ref(currency)
        fields["ExchangeRate"] = self._exchange_rate(fields, currency)
        linked: set[str] = set()
        fields["Line"] = [self._deposit_line(line, currency, existing, linked) for line in self._lines(fields)]
        if sum((line["Amount"] for line in fields["Line"]), Decimal(0)) < 0:
            raise faults.business_validation("The deposit total can't be negative.")
        self._common_transaction_fields(fields)
        return fields, {}

    def _deposit_line(self, line: dict, currency: str, existing: Record | None, linked: set[str]) -> dict:
        if "Amount" not in line:
            raise faults.required_missing("Line.Amount")
        amount = values.money(values.amount(line["Amount"], "Line.Amount"), currency)
        if line.get("LinkedTxn"):
            return self._deposited_payment_line(line["LinkedTxn"], amount, currency, existing, linked)
        if line.get("DetailType") != "DepositLineDetail":
            raise faults.required_missing("Line.DetailType")
        detail = dict(line.get("DepositLineDetail") or {})
        if "AccountRef" not in detail:
            raise faults.required_missing("Line.DepositLineDetail.AccountRef")
        _, detail["AccountRef"] = self._active_reference("Account", detail["AccountRef"], "AccountRef")
        if "Entity" in detail:
            _, reference = self._active_reference("Customer", detail["Entity"], "Entity")
            detail["Entity"] = {**reference, "type": "CUSTOMER"}
        result = {key: value for key, value in line.items() if key not in ("Id", "LineNum", "LinkedTxn")}
        return {**result, "Amount": amount, "DetailType": "DepositLineDetail", "DepositLineDetail": detail}

    def _deposited_payment_line(
        self, linked_txns: Any, amount: Decimal, currency: str, existing: Record | None, linked: set[str]
    ) -> dict:
        if not isinstance(linked_txns, list) or len(linked_txns) != 1 or linked_txns[0].get("TxnType") != "Payment":
            raise faults.unsupported_property("Line.LinkedTxn")
        payment_id = str(linked_txns[0].get("TxnId"))
        payment = self.records["Payment"].get(payment_id)
        if payment is None:
            raise faults.invalid_reference("LinkedTxn", payment_id)
        if payment.fields["DepositToAccountRef"]["value"] != UNDEPOSITED_FUNDS_ID:
            raise faults.business_validation(f"Payment {payment_id} is not in Undeposited Funds.")
        holder = self.deposited.get(payment_id)
        if payment_id in linked or (holder is not None and (existing is None or holder != existing.id)):
            raise faults.business_validation(f"Payment {payment_id} has already been deposited.")
        if payment.fields["CurrencyRef"]["value"] != currency:
            raise faults.business_validation(f"Payment {payment_id} is in another currency than the deposit.")
        if amount != payment.fields["TotalAmt"]:
            raise faults.business_validation(
                f"The deposit line amount {amount} must equal the amount of payment {payment_id} "
                f"({payment.fields['TotalAmt']}).")
        linked.add(payment_id)
        return {"Amount": amount, "LinkedTxn": [{"TxnId": payment_id, "TxnType": "Payment", "TxnLineId": "0"}]}

    def _after_write_deposit(self, record: Record, previous: dict | None) -> None:
        self._release_deposited(record)
        for payment_id in _deposited_payment_ids(record.fields):
            self.deposited[payment_id] = record.id

    def _before_delete_deposit(self, record: Record) -> None:
        self._release_deposited(record)  # the payments go back to Undeposited Funds

    def _release_deposited(self, record: Record) -> None:
        for payment_id in [pid for pid, deposit_id in self.deposited.items() if deposit_id == record.id]:
            del self.deposited[payment_id]

    def _render_deposit(self, record: Record) -> dict:
        total = sum((line["Amount"] for line in record.fields["Line"]), Decimal(0))
        return self._render_ledger_txn(record, total)

    # ---- journal entries --------------------------------------------------------------------
    def _validate_journalentry(self, fields: dict, existing: Record | None) -> tuple[dict, dict]:
        fields = dict(fields)
        currency = values.currency_code(fields["CurrencyRef"]) if "CurrencyRef" in fields else HOME_CURRENCY
        fields["CurrencyRef"] = values.currency_ref(currency)
        fields["ExchangeRate"] = self._exchange_rate(fields, currency)
        fields["Line"] = [self._journal_line(line, currency) for line in self._lines(fields)]
        totals = {posting: Decimal(0) for posting in POSTING_TYPES}
        for line in fields["Line"]:
            if line["DetailType"] == "JournalEntryLineDetail":
                totals[line["JournalEntryLineDetail"]["PostingType"]] += line["Amount"]
        if totals["Debit"] != totals["Credit"]:
            raise faults.journal_unbalanced(totals["Debit"], totals["Credit"])
        self._common_transaction_fields(fields)
        return fields, {}

    def _journal_line(self, line: dict, currency: str) -> dict:
        result = {key: value for key, value in line.items() if key not in ("Id", "LineNum")}
        if line.get("DetailType") == "DescriptionOnly":
            return result
        if line.get("DetailType") != "JournalEntryLineDetail":
            raise faults.required_missing("Line.DetailType")
        if "Amount" not in line:
            raise faults.required_missing("Line.Amount")
        amount = values.money(values.amount(line["Amount"], "Line.Amount"), currency)
        if amount < 0:
            raise faults.business_validation("Journal entry line amounts can't be negative; use the other "
                                             "PostingType instead.")
        detail = dict(line.get("JournalEntryLineDetail") or {})
        if detail.get("PostingType") not in POSTING_TYPES:
            raise faults.required_missing("Line.JournalEntryLineDetail.PostingType")
        if "AccountRef" not in detail:
            raise faults.required_missing("Line.JournalEntryLineDetail.AccountRef")
        account, detail["AccountRef"] = self._active_reference("Account", detail["AccountRef"], "AccountRef")
        if account.fields["CurrencyRef"]["value"] not in (currency, HOME_CURRENCY):
            raise faults.business_validation("A journal entry can only post to accounts in its own currency or the "
                                             "home currency.")
        entity = detail.get("Entity")
        if account.fields["AccountType"] == "Accounts Receivable":
            if not isinstance(entity, dict) or entity.get("Type") != "Customer":
                raise faults.business_validation(
                    "When you use Accounts Receivable, you must choose a customer in the Name field.")
        if isinstance(entity, dict) and entity.get("Type") == "Customer":
            _, reference = self._active_reference("Customer", entity.get("EntityRef"), "EntityRef")
            detail["Entity"] = {"Type": "Customer", "EntityRef": reference}
        return {**result, "Amount": amount, "JournalEntryLineDetail": detail}

    def _render_journalentry(self, record: Record) -> dict:
        debits = sum((line["Amount"] for line in record.fields["Line"]
                      if line.get("JournalEntryLineDetail", {}).get("PostingType") == "Debit"), Decimal(0))
        return {"Adjustment": False, **self._render_ledger_txn(record, debits)}

    # ---- ledger -----------------------------------------------------------------------------
    def account_balance(self, account_id: str) -> Decimal:
        """CurrentBalance as QuickBooks shows it: balance-sheet accounts only (P&L accounts read 0)."""
        account = self.records["Account"][account_id]
        classification = account.fields["Classification"]
        if classification in ("Revenue", "Expense"):
            return Decimal(0)
        debit_balance = sum((amount for posted_to, amount in self._postings() if posted_to == account_id), Decimal(0))
        balance = -debit_balance if classification in CREDIT_NORMAL else debit_balance
        return values.money(balance, HOME_CURRENCY)

    def _postings(self) -> Iterator[tuple[str, Decimal]]:
        """(account id, home-currency amount; debit positive, credit negative) of every transaction."""
        for invoice in self.records["Invoice"].values():
            yield RECEIVABLE_ACCOUNT_ID, self._home(invoice, self._sales_total(invoice))
        for memo in self.records["CreditMemo"].values():
            yield RECEIVABLE_ACCOUNT_ID, -self._home(memo, self._sales_total(memo))
        for payment in self.records["Payment"].values():
            amount = self._home(payment, payment.fields["TotalAmt"])
            yield payment.fields["DepositToAccountRef"]["value"], amount
            yield RECEIVABLE_ACCOUNT_ID, -amount
        for refund in self.records["RefundReceipt"].values():
            yield refund.fields["DepositToAccountRef"]["value"], -self._home(refund, self._sales_total(refund))
        for deposit in self.records["Deposit"].values():
            for line in deposit.fields["Line"]:
                amount = self._home(deposit, line["Amount"])
                yield deposit.fields["DepositToAccountRef"]["value"], amount
                if line.get("LinkedTxn"):
                    yield UNDEPOSITED_FUNDS_ID, -amount
                else:
                    yield line["DepositLineDetail"]["AccountRef"]["value"], -amount
        for entry in self.records["JournalEntry"].values():
            for line in entry.fields["Line"]:
                detail = line.get("JournalEntryLineDetail")
                if detail is not None:
                    sign = 1 if detail["PostingType"] == "Debit" else -1
                    yield detail["AccountRef"]["value"], sign * self._home(entry, line["Amount"])

    @staticmethod
    def _home(record: Record, amount: Decimal) -> Decimal:
        return amount * record.fields.get("ExchangeRate", Decimal(1))


def _deposited_payment_ids(fields: dict) -> list[str]:
    return [line["LinkedTxn"][0]["TxnId"] for line in fields["Line"] if line.get("LinkedTxn")]
