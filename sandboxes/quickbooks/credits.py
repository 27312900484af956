"""Money going back to customers: CreditMemo (a credit on account) and RefundReceipt (money paid out).

Both are sales forms like an invoice: sales item lines, a customer in the transaction's currency,
an exchange rate to the home currency, a shared DocNumber sequence. A credit memo's whole amount
stays open as RemainingCredit (it lowers the customer's Balance); a refund receipt pays out of the
account in DepositToAccountRef and leaves nothing open.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandboxes.quickbooks import faults, values
from sandboxes.quickbooks.schema import HOME_CURRENCY, MAX_DOC_NUMBER, MAX_PRIVATE_NOTE

if TYPE_CHECKING:
    from sandboxes.quickbooks.company import Record

# Accounts money can be refunded from: QuickBooks offers bank, credit card and other current asset accounts.
REFUND_FROM_ACCOUNT_TYPES = ("Bank", "Credit Card", "Other Current Asset")


class CreditRules:
    """Mixed into Company; uses its sales-line, currency and reference helpers."""

    _customer_ref: Callable[[dict], tuple[Record, dict]]
    _transaction_currency: Callable[[dict, Record], str]
    _exchange_rate: Callable[[dict, str], Decimal]
    _sales_line: Callable[[Any, str], dict]
    _sales_total: Callable[[Record], Decimal]
    _next_doc_number: Callable[[], str]
    _active_reference: Callable[[str, Any, str], tuple[Record, dict]]

    def _sales_form(self, fields: dict, existing: Record | None, customer_required: bool) -> tuple[dict, dict]:
        fields = dict(fields)
        if "CustomerRef" in fields or customer_required:
            customer, fields["CustomerRef"] = self._customer_ref(fields)
            currency = self._transaction_currency(fields, customer)
        else:
            currency = values.currency_code(fields["CurrencyRef"]) if "CurrencyRef" in fields else HOME_CURRENCY
        fields["CurrencyRef"] = values.currency_ref(currency)
        fields["ExchangeRate"] = self._exchange_rate(fields, currency)
        lines = fields.get("Line")
        if not isinstance(lines, list) or not lines:
            raise faults.required_missing("Line")
        item_lines = [line for line in lines if not (isinstance(line, dict) and line.get("DetailType") ==
                                                     "SubTotalLineDetail")]
        fields["Line"] = [self._sales_line(line, currency) for line in item_lines]
        if "TxnDate" in fields:
            fields["TxnDate"] = values.txn_date(fields["TxnDate"], "TxnDate")
        if "PrivateNote" in fields:
            values.text(fields["PrivateNote"], "PrivateNote", MAX_PRIVATE_NOTE)
        extra: dict[str, Any] = {}
        if "DocNumber" in fields:
            values.text(fields["DocNumber"], "DocNumber", MAX_DOC_NUMBER)
        elif existing is None:
            extra["DocNumber"] = self._next_doc_number()
        if sum((line["Amount"] for line in fields["Line"]), Decimal(0)) < 0:
            raise faults.business_validation("Transaction amount must be positive.")
        return fields, extra

    def _render_sales_form(self, record: Record, open_amount: Decimal) -> dict:
        fields = record.fields
        currency = fields["CurrencyRef"]["value"]
        total = values.money(self._sales_total(record), currency)
        lines = [{"Id": str(number), "LineNum": number, **line} for number, line in enumerate(fields["Line"], start=1)]
        lines.append({"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        body = {
            "CustomField": [], "PrintStatus": "NotSet", "EmailStatus": "NotSet", "ApplyTaxAfterDiscount": False,
            **record.extra, **fields,
            "TxnDate": fields.get("TxnDate") or record.created[:10],
            "Line": lines, "TxnTaxDetail": {"TotalTax": Decimal(0)},
            "TotalAmt": total, "Balance": values.money(open_amount, currency),
        }
        if currency != HOME_CURRENCY:
            body["HomeTotalAmt"] = values.money(total * fields["ExchangeRate"], HOME_CURRENCY)
            body["HomeBalance"] = values.money(open_amount * fields["ExchangeRate"], HOME_CURRENCY)
        return body

    # ---- credit memos -----------------------------------------------------------------------
    def _validate_creditmemo(self, fields: dict, existing: Record | None) -> tuple[dict, dict]:
        return self._sales_form(fields, existing, customer_required=True)

    def _render_creditmemo(self, record: Record) -> dict:
        remaining = self._sales_total(record)
        body = self._render_sales_form(record, remaining)
        body["RemainingCredit"] = body["Balance"]
        return body

    # ---- refund receipts --------------------------------------------------------------------
    def _validate_refundreceipt(self, fields: dict, existing: Record | None) -> tuple[dict, dict]:
        fields, extra = self._sales_form(fields, existing, customer_required=False)
        if "DepositToAccountRef" not in fields:
            raise faults.required_missing("DepositToAccountRef")
        account, fields["DepositToAccountRef"] = self._active_reference(
            "Account", fields["DepositToAccountRef"], "DepositToAccountRef")
        if account.fields["CurrencyRef"]["value"] not in (fields["CurrencyRef"]["value"], HOME_CURRENCY):
            raise faults.business_validation("The refund must be paid from an account in its own currency.")
        if account.fields["AccountType"] not in REFUND_FROM_ACCOUNT_TYPES:
            raise faults.business_validation("You can only refund from a bank, credit card or other current asset "
                                             "account.")
        if "PaymentRefNum" in fields:
            values.text(fields["PaymentRefNum"], "PaymentRefNum", MAX_DOC_NUMBER)
        return fields, extra

    def _render_refundreceipt(self, record: Record) -> dict:
        return self._render_sales_form(record, Decimal(0))
