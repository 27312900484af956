"""One QuickBooks company (realm): its records, the rules QuickBooks applies on write, and reads.

Each record keeps the properties the client wrote (`fields`) plus bookkeeping (Id, SyncToken,
times); everything QuickBooks derives (totals, balances, names on references, line ids) is
recomputed on every read, so a payment or a deletion elsewhere is always reflected.

Per-entity rules live in methods named `_validate_<entity>` and `_render_<entity>` (and optional
`_after_write_<entity>` / `_before_delete_<entity>`); customers, invoices and payments are here,
name lists (accounts, items, tax codes) in `names.py`, credits and refunds in `credits.py`,
deposits and journal entries in `banking.py`. Every change is reported to `listeners`
(CDC keeps deletions as tombstones; webhooks turn changes into CloudEvents).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandboxes.quickbooks import faults, values
from sandboxes.quickbooks.banking import BankingRules
from sandboxes.quickbooks.credits import CreditRules
from sandboxes.quickbooks.names import NameListRules
from sandboxes.quickbooks.query import (
    Condition,
    answer,
    check_queryable,
    execute,
    execute_in_id_order,
    in_id_order,
    parse,
)
from sandboxes.quickbooks.queryable import FILTERABLE, SORTABLE
from sandboxes.quickbooks.schema import (
    ACCEPTED_PROPERTIES,
    CURRENCIES,
    HOME_CURRENCY,
    MAX_DISPLAY_NAME,
    MAX_DOC_NUMBER,
    MAX_NOTES,
    MAX_PRIVATE_NOTE,
    NAME_LIST,
    READ_ONLY,
)

TRANSACTIONS = ("Invoice", "Payment", "CreditMemo", "RefundReceipt", "Deposit", "JournalEntry")
ENTITIES = ("Account", "Item", "TaxCode", "Customer", *TRANSACTIONS)
WRITABLE = ("Account", "Item", "Customer", *TRANSACTIONS)  # tax codes come from the tax engine, never the API
UPDATABLE = ("Account", "Item", "Customer", "Invoice", "CreditMemo", "RefundReceipt", "Deposit", "JournalEntry")
DELETABLE = TRANSACTIONS
FORBIDDEN_NAME_CHARACTERS = (":", "\t", "\n")  # ':' separates parent:child in FullyQualifiedName

# (entity, id, operation, time): operation is "Create", "Update" or "Delete", as webhooks name them.
ChangeListener = Callable[[str, str, str, str], None]


@dataclass
class Record:
    entity: str
    id: str
    created: str
    updated: str
    fields: dict[str, Any]
    sync_token: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # derived on write (DocNumber, rates)
    # What a faulty vendor sends instead of the rendered properties (a None drops one): planted through the control
    # API so clients can be shown bad data QuickBooks' own validation would never let a write produce. Reads show
    # it; queries still select on the record as kept.
    corrupt: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tombstone:
    """What CDC still knows about a deleted transaction."""

    entity: str
    id: str
    deleted: str


ROW_RECORD = "\x00record"  # where a stored row keeps its record (no QuickBooks field can be named so)
# Top-level properties whose stored value is the rendered one: a query on these alone needs no rendering.
STORED_AS_RENDERED = frozenset({"Id", "SyncToken", "MetaData", "Active", "DisplayName", "Name", "DocNumber",
                                "CustomerRef"})


def _id_order(record: Record) -> tuple[int, int | str]:
    # As query._sort_key orders Ids: numbers by value (the usual), then text (TaxCode's TAX and NON).
    return (0, int(record.id)) if record.id.isdigit() else (1, record.id)


def _is_active_true(condition: Condition) -> bool:
    return condition.field == "Active" and condition.operator == "=" and condition.values == (True,)


def _stored_fields_suffice(query: Any) -> bool:
    paths = [condition.field for condition in query.conditions] + [path for path, _ in query.order_by]
    return all(path.split(".")[0] in STORED_AS_RENDERED for path in paths)


class Company(NameListRules, CreditRules, BankingRules):
    def __init__(self, realm_id: str, clock: Callable[[], datetime]) -> None:
        self.realm_id = realm_id
        self.clock = clock
        self.records: dict[str, dict[str, Record]] = {name: {} for name in ENTITIES}
        self.counters: dict[str, int] = {name: 0 for name in ENTITIES}
        self.tombstones: list[Tombstone] = []
        self.listeners: list[ChangeListener] = []
        self.next_doc_number = 1001
        # invoice id -> payment id -> amount applied: balances are derived from this.
        self.applied: dict[str, dict[str, Decimal]] = {}
        # payment id -> deposit id, for payments moved out of Undeposited Funds by a deposit.
        self.deposited: dict[str, str] = {}
        self._seed_chart_of_accounts()
        self._seed_tax_codes()

    # ---- seed -------------------------------------------------------------------------------
    def _seed_chart_of_accounts(self) -> None:
        # Ids 1-3 are relied on by clients (Services income, A/R, Undeposited Funds); the rest follow.
        for name, account_type, sub_type, classification in [
            ("Services", "Income", "ServiceFeeIncome", "Revenue"),
            ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
            ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
            ("Checking", "Bank", "Checking", "Asset"),
            ("Stripe Clearing", "Bank", "CashOnHand", "Asset"),
            ("Merchant Fees", "Expense", "BankCharges", "Expense"),
            ("Refunds Given", "Income", "DiscountsRefundsGiven", "Revenue"),
        ]:
            self._insert("Account", {
                "Name": name, "SubAccount": False, "Active": True,
                "Classification": classification, "AccountType": account_type, "AccountSubType": sub_type,
                "CurrencyRef": values.currency_ref(HOME_CURRENCY),
            })
        self._insert("Item", {
            "Name": "Services", "Active": True, "Taxable": False,
            "UnitPrice": Decimal("0"), "Type": "Service", "IncomeAccountRef": {"value": "1", "name": "Services"},
            "PurchaseCost": Decimal("0"), "TrackQtyOnHand": False,
        })

    def _insert(
        self, entity: str, fields: dict[str, Any], extra: dict[str, Any] | None = None, record_id: str | None = None
    ) -> Record:
        if record_id is None:
            self.counters[entity] += 1
            record_id = str(self.counters[entity])
        now = values.format_time(self.clock())
        record = Record(entity, record_id, now, now, fields, 0, extra or {})
        self.records[entity][record.id] = record
        self._notify(entity, record.id, "Create", now)
        return record

    def _touch(self, record: Record) -> None:
        record.sync_token += 1
        record.updated = values.format_time(self.clock())
        self._notify(record.entity, record.id, "Update", record.updated)

    def _notify(self, entity: str, record_id: str, operation: str, time: str) -> None:
        for listener in self.listeners:
            listener(entity, record_id, operation, time)

    # ---- reads ------------------------------------------------------------------------------
    def get(self, entity: str, record_id: str) -> Record:
        record = self.records[entity].get(str(record_id))
        if record is None:
            raise faults.object_not_found(entity, record_id)
        return record

    def read(self, entity: str, record_id: str) -> dict:
        return self.render(self.get(entity, record_id))

    def canonical_entity(self, name: str) -> str | None:
        return next((entity for entity in ENTITIES if entity.lower() == name.lower()), None)

    def query(self, statement: str) -> dict:
        query = parse(statement)
        canonical = self.canonical_entity(query.entity)
        if canonical is None:
            raise faults.query_parser_error(f"Invalid entity name: {query.entity}")
        query.entity = canonical
        # Checked once, here: what the client asked, before the hidden Active filter; execute() trusts it.
        check_queryable(query, FILTERABLE[canonical], SORTABLE[canonical])
        if canonical in NAME_LIST and not any(condition.field == "Active" for condition in query.conditions):
            # QuickBooks hides inactive (deleted) list entries unless the query asks about Active.
            query.conditions.append(Condition("Active", "=", (True,)))
        if _stored_fields_suffice(query):
            # Filter and sort on what is stored, then render only the page: a page of 1,000 among 100,000
            # customers must not render (and total the invoices of) all of them.
            if in_id_order(query):  # the usual paging: read records in Id order only as far as the page
                return self._page_in_id_order(query, canonical)
            rows = [self._stored_row(record) for record in self.records[canonical].values()]
            return execute(query, rows, finish=self._render_page)
        return execute(query, self._true_rows(canonical), finish=self._as_shown)

    def _page_in_id_order(self, query: Any, entity: str) -> dict:
        ordered = sorted(self.records[entity].values(), key=_id_order)
        if not all(_is_active_true(condition) for condition in query.conditions):
            return execute_in_id_order(query, map(self._stored_row, ordered), finish=self._render_page)
        # Nothing to test but the hidden Active filter (query() checked what the client asked): go straight to
        # the page, no row built for the records before it.
        if query.conditions:
            ordered = [record for record in ordered if record.fields.get("Active", True) is True]
        first = query.start_position - 1
        return answer(query, [self._stored_row(record) for record in ordered[first : first + query.max_results]],
                      self._render_page)

    def _stored_row(self, record: Record) -> dict:
        row = {**record.extra, **record.fields, "Id": record.id, "SyncToken": str(record.sync_token),
               "MetaData": {"CreateTime": record.created, "LastUpdatedTime": record.updated}, ROW_RECORD: record}
        if record.entity in NAME_LIST:
            row["Active"] = record.fields.get("Active", True)
        return row

    def _render_page(self, rows: list[dict]) -> list[dict]:
        records = [row[ROW_RECORD] for row in rows]
        balances = None
        if records and records[0].entity == "Customer":
            balances = self._customer_balances({record.id for record in records})
        return [self.render(record, balances) for record in records]

    def render_all(self, entity: str) -> list[dict]:
        balances = self._customer_balances() if entity == "Customer" else None
        return [self.render(record, balances) for record in self.records[entity].values()]

    def _true_rows(self, entity: str) -> list[dict]:
        """Every record rendered as QuickBooks keeps it (no planted corruption): what a query selects on."""
        balances = self._customer_balances() if entity == "Customer" else None
        return [{**self._render_true(record, balances), ROW_RECORD: record} for record in self.records[entity].values()]

    def _as_shown(self, rows: list[dict]) -> list[dict]:
        return [_corrupted(row.pop(ROW_RECORD), row) for row in rows]

    def render(self, record: Record, balances: dict[str, Decimal] | None = None) -> dict:
        return _corrupted(record, self._render_true(record, balances))

    def _render_true(self, record: Record, balances: dict[str, Decimal] | None = None) -> dict:
        body = {"domain": "QBO", "sparse": False, "Id": record.id, "SyncToken": str(record.sync_token),
                "MetaData": {"CreateTime": record.created, "LastUpdatedTime": record.updated}}
        if record.entity == "Customer":
            derived = self._render_customer(record, balances)
        else:
            derived = getattr(self, "_render_" + record.entity.lower())(record)
        return {**derived, **body}

    # ---- writes -----------------------------------------------------------------------------
    def create(self, entity: str, payload: dict) -> dict:
        fields = self._writable(entity, payload)
        normalized, extra = self._validate(entity, fields, existing=None)
        record = self._insert(entity, normalized, extra)
        self._after_write(record, previous=None)
        return self.render(record)

    def update(self, entity: str, payload: dict) -> dict:
        record = self._check_sync_token(entity, payload)
        fields = self._writable(entity, payload)
        if payload.get("sparse") is True:
            fields = {**record.fields, **fields}
        return self._replace(record, fields)

    def edit(self, entity: str, record_id: str, changes: dict) -> dict:
        """A bookkeeper's edit in the QuickBooks UI: no SyncToken check, same rules otherwise."""
        record = self.get(entity, record_id)
        return self._replace(record, {**record.fields, **changes})

    def corrupt(self, entity: str, record_id: str, changes: dict) -> dict:
        """Bad vendor data for tests: reads show `changes` over the rendered record (see Record.corrupt)."""
        record = self.get(entity, record_id)
        record.corrupt = {**record.corrupt, **changes}
        self._touch(record)
        return self.render(record)

    def _replace(self, record: Record, fields: dict) -> dict:
        self._check_not_deposited(record)
        normalized, extra = self._validate(record.entity, fields, existing=record)
        previous = record.fields
        record.fields, record.extra = normalized, {**record.extra, **extra}
        self._touch(record)
        self._after_write(record, previous=previous)
        return self.render(record)

    def delete(self, entity: str, payload: dict) -> dict:
        record = self._check_sync_token(entity, payload)
        self._check_not_deposited(record)
        hook = getattr(self, "_before_delete_" + entity.lower(), None)
        if hook is not None:
            hook(record)
        del self.records[entity][record.id]
        deleted = values.format_time(self.clock())
        self.tombstones.append(Tombstone(entity, record.id, deleted))
        self._notify(entity, record.id, "Delete", deleted)
        return {"status": "Deleted", "domain": "QBO", "Id": record.id}

    def _after_write(self, record: Record, previous: dict | None) -> None:
        hook = getattr(self, "_after_write_" + record.entity.lower(), None)
        if hook is not None:
            hook(record, previous)

    def _before_delete_invoice(self, record: Record) -> None:
        # QuickBooks keeps the payments and leaves their amounts unapplied (a customer credit).
        for payment_id in self.applied.pop(record.id, {}):
            payment = self.records["Payment"][payment_id]
            payment.fields["Line"] = [
                line for line in payment.fields["Line"] if line["LinkedTxn"][0]["TxnId"] != record.id
            ]
            self._touch(payment)

    def _before_delete_payment(self, record: Record) -> None:
        for invoice_id in [line["LinkedTxn"][0]["TxnId"] for line in record.fields["Line"]]:
            self.applied.get(invoice_id, {}).pop(record.id, None)
            self._touch(self.records["Invoice"][invoice_id])

    def _after_write_payment(self, record: Record, previous: dict | None) -> None:
        for line in record.fields["Line"]:
            invoice_id = line["LinkedTxn"][0]["TxnId"]
            self.applied.setdefault(invoice_id, {})[record.id] = line["Amount"]
            self._touch(self.records["Invoice"][invoice_id])  # QuickBooks bumps the paid invoice too

    def _check_not_deposited(self, record: Record) -> None:
        if record.entity == "Payment" and record.id in self.deposited:
            raise faults.deposited_transaction(record.id)

    def _check_sync_token(self, entity: str, payload: dict) -> Record:
        if "Id" not in payload:
            raise faults.required_missing("Id")
        if "SyncToken" not in payload:
            raise faults.required_missing("SyncToken")
        record = self.get(entity, str(payload["Id"]))
        if str(payload["SyncToken"]) != str(record.sync_token):
            raise faults.stale_object()
        return record

    def _writable(self, entity: str, payload: dict) -> dict:
        if not isinstance(payload, dict):
            raise faults.unsupported_property(entity)
        for name in payload:
            if name not in ACCEPTED_PROPERTIES[entity]:
                raise faults.unsupported_property(name)
        # A payer states a payment's total; on every other entity TotalAmt is computed.
        read_only = READ_ONLY - {"TotalAmt"} if entity == "Payment" else READ_ONLY
        return {name: value for name, value in payload.items() if name not in read_only and value is not None}

    def _validate(self, entity: str, fields: dict, existing: Record | None) -> tuple[dict, dict]:
        return getattr(self, "_validate_" + entity.lower())(fields, existing)

    def _next_doc_number(self) -> str:
        """Sales forms share one sequence, as in a QuickBooks company with custom numbers off."""
        number = str(self.next_doc_number)
        self.next_doc_number += 1
        return number

    # ---- customers --------------------------------------------------------------------------
    def _validate_customer(self, fields: dict, existing: Record | None) -> tuple[dict, dict]:
        fields = dict(fields)
        name = fields.get("DisplayName")
        if not name:
            parts = [fields.get(key) for key in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
            name = " ".join(str(part) for part in parts if part) or fields.get("CompanyName")
        if not name or not str(name).strip():
            raise faults.no_name_provided()
        name = values.text(name, "DisplayName", MAX_DISPLAY_NAME).strip()
        if any(char in name for char in FORBIDDEN_NAME_CHARACTERS):
            raise faults.invalid_string("DisplayName", name)
        fields["DisplayName"] = name
        if not isinstance(fields.setdefault("Active", True), bool):
            raise faults.unsupported_property("Active")
        fields["DisplayName"] = name = self._list_name("Customer", "DisplayName", fields, existing)
        if self._name_taken("Customer", "DisplayName", name, existing):
            raise faults.duplicate_name(name)
        if "Notes" in fields:
            values.text(fields["Notes"], "Notes", MAX_NOTES)
        email = fields.get("PrimaryEmailAddr")
        if email is not None and not (isinstance(email, dict) and isinstance(email.get("Address"), str)):
            raise faults.unsupported_property("PrimaryEmailAddr")
        currency = values.currency_code(fields["CurrencyRef"]) if "CurrencyRef" in fields else None
        if existing is not None:
            current = existing.fields["CurrencyRef"]["value"]
            if currency not in (None, current) and self._customer_has_transactions(existing.id):
                raise faults.business_validation("You can't change the currency of a customer with transactions.")
            currency = currency or current
        fields["CurrencyRef"] = values.currency_ref(currency or HOME_CURRENCY)
        return fields, {}

    def _customer_has_transactions(self, customer_id: str) -> bool:
        return any(
            record.fields.get("CustomerRef", {}).get("value") == customer_id
            for entity in TRANSACTIONS
            for record in self.records[entity].values()
        )

    def _customer_balances(self, only: set[str] | None = None) -> dict[str, Decimal]:
        """Open balance per customer Id (of the customers in `only`, when given), computed once per read."""
        balances: dict[str, Decimal] = {}
        for invoice in self.records["Invoice"].values():
            customer_id = invoice.fields["CustomerRef"]["value"]
            if only is None or customer_id in only:
                balances[customer_id] = balances.get(customer_id, Decimal(0)) + self._invoice_balance(invoice)
        for memo in self.records["CreditMemo"].values():  # an open credit lowers what the customer owes
            customer_id = memo.fields["CustomerRef"]["value"]
            if only is None or customer_id in only:
                balances[customer_id] = balances.get(customer_id, Decimal(0)) - self._sales_total(memo)
        return balances

    def _render_customer(self, record: Record, balances: dict[str, Decimal] | None = None) -> dict:
        currency = record.fields["CurrencyRef"]["value"]
        balance = (balances if balances is not None else self._customer_balances()).get(record.id, Decimal(0))
        name = record.fields["DisplayName"]
        return {
            "Taxable": False, "Job": False, "BillWithParent": False, "PreferredDeliveryMethod": "Print",
            "Active": True, "PrintOnCheckName": name, **record.fields,
            "FullyQualifiedName": name,
            "Balance": values.money(balance, currency), "BalanceWithJobs": values.money(balance, currency),
        }

    def _customer_ref(self, fields: dict) -> tuple[Record, dict]:
        if "CustomerRef" not in fields:
            raise faults.required_missing("CustomerRef")
        return self._active_reference("Customer", fields["CustomerRef"], "CustomerRef")

    def _transaction_currency(self, fields: dict, customer: Record) -> str:
        customer_currency = customer.fields["CurrencyRef"]["value"]
        currency = values.currency_code(fields["CurrencyRef"]) if "CurrencyRef" in fields else customer_currency
        if currency != customer_currency:
            raise faults.business_validation(
                f"The transaction currency ({currency}) must match the customer's currency ({customer_currency})."
            )
        return currency

    def _exchange_rate(self, fields: dict, currency: str) -> Decimal:
        if currency == HOME_CURRENCY:
            return Decimal(1)
        if "ExchangeRate" in fields:
            return values.amount(fields["ExchangeRate"], "ExchangeRate")
        return CURRENCIES[currency][2]

    # ---- invoices ---------------------------------------------------------------------------
    def _validate_invoice(self, fields: dict, existing: Record | None) -> tuple[dict, dict]:
        fields = dict(fields)
        customer, fields["CustomerRef"] = self._customer_ref(fields)
        currency = self._transaction_currency(fields, customer)
        fields["CurrencyRef"] = values.currency_ref(currency)
        fields["ExchangeRate"] = self._exchange_rate(fields, currency)
        lines = fields.get("Line")
        if not isinstance(lines, list) or not lines:
            raise faults.required_missing("Line")
        # A fetched invoice echoes its SubTotalLine back; QuickBooks recomputes it, so drop it.
        item_lines = [line for line in lines if not _is_subtotal(line)]
        fields["Line"] = [self._sales_line(line, currency) for line in item_lines]
        for key in ("TxnDate", "DueDate"):
            if key in fields:
                fields[key] = values.txn_date(fields[key], key)
        if "PrivateNote" in fields:
            values.text(fields["PrivateNote"], "PrivateNote", MAX_PRIVATE_NOTE)
        extra: dict[str, Any] = {}
        if "DocNumber" in fields:
            values.text(fields["DocNumber"], "DocNumber", MAX_DOC_NUMBER)
        elif existing is None:
            extra["DocNumber"] = self._next_doc_number()
        if existing is not None:
            applied = sum(self.applied.get(existing.id, {}).values(), Decimal(0))
            if sum((line["Amount"] for line in fields["Line"]), Decimal(0)) < applied:
                raise faults.business_validation("The invoice total can't be less than the payments applied to it.")
        return fields, extra

    def _sales_line(self, line: Any, currency: str) -> dict:
        if not isinstance(line, dict):
            raise faults.unsupported_property("Line")
        detail_type = line.get("DetailType")
        if detail_type is None:
            raise faults.required_missing("Line.DetailType")
        if detail_type != "SalesItemLineDetail" and detail_type != "DescriptionOnly":
            raise faults.unsupported_property(f"Line.DetailType={detail_type}")
        if "Amount" not in line:
            raise faults.required_missing("Line.Amount")
        amount = values.money(values.amount(line["Amount"], "Line.Amount"), currency)
        result = {key: value for key, value in line.items() if key not in ("Id",)}
        result["Amount"] = amount
        if detail_type == "SalesItemLineDetail":
            detail = dict(line.get("SalesItemLineDetail") or {})
            _, detail["ItemRef"] = self._active_reference("Item", detail.get("ItemRef", {"value": "1"}), "ItemRef")
            if "Qty" in detail:
                detail["Qty"] = values.amount(detail["Qty"], "Qty")
            if "UnitPrice" in detail:
                detail["UnitPrice"] = values.amount(detail["UnitPrice"], "UnitPrice")
            if "Qty" in detail and "UnitPrice" in detail:
                expected = values.money(detail["Qty"] * detail["UnitPrice"], currency)
                if expected != amount:
                    raise faults.amount_mismatch(line["Amount"])
            detail.setdefault("TaxCodeRef", {"value": "NON"})
            result["SalesItemLineDetail"] = detail
        return result

    def _sales_total(self, record: Record) -> Decimal:
        return sum((line["Amount"] for line in record.fields["Line"]), Decimal(0))

    def _invoice_balance(self, record: Record) -> Decimal:
        return self._sales_total(record) - sum(self.applied.get(record.id, {}).values(), Decimal(0))

    def _render_invoice(self, record: Record) -> dict:
        fields = record.fields
        currency = fields["CurrencyRef"]["value"]
        total = values.money(self._sales_total(record), currency)
        balance = values.money(self._invoice_balance(record), currency)
        lines = [
            {"Id": str(number), "LineNum": number, **line}
            for number, line in enumerate(fields["Line"], start=1)
        ]
        lines.append({"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        txn_date = fields.get("TxnDate") or record.created[:10]
        body = {
            "AllowIPNPayment": False, "AllowOnlinePayment": False, "AllowOnlineCreditCardPayment": False,
            "AllowOnlineACHPayment": False, "CustomField": [], "PrintStatus": "NotSet", "EmailStatus": "NotSet",
            "ApplyTaxAfterDiscount": False, **record.extra, **fields,
            "TxnDate": txn_date, "DueDate": fields.get("DueDate") or txn_date,
            "Line": lines, "TxnTaxDetail": {"TotalTax": Decimal(0)},
            "LinkedTxn": [{"TxnId": paid_by, "TxnType": "Payment"} for paid_by in self.applied.get(record.id, {})],
            "TotalAmt": total, "Balance": balance,
        }
        if currency != HOME_CURRENCY:
            rate = fields["ExchangeRate"]
            body["HomeTotalAmt"] = values.money(total * rate, HOME_CURRENCY)
            body["HomeBalance"] = values.money(balance * rate, HOME_CURRENCY)
        return body

    # ---- payments ---------------------------------------------------------------------------
    def _validate_payment(self, fields: dict, existing: Record | None) -> tuple[dict, dict]:
        fields = dict(fields)
        customer, fields["CustomerRef"] = self._customer_ref(fields)
        currency = self._transaction_currency(fields, customer)
        fields["CurrencyRef"] = values.currency_ref(currency)
        fields["ExchangeRate"] = self._exchange_rate(fields, currency)
        if "TotalAmt" not in fields:
            raise faults.required_missing("TotalAmt")
        total = values.money(values.amount(fields["TotalAmt"], "TotalAmt"), currency)
        fields["TotalAmt"] = total
        lines = [self._payment_line(line, customer, currency) for line in fields.get("Line") or []]
        if sum((line["Amount"] for line in lines), Decimal(0)) > total:
            raise faults.business_validation("The amount applied to invoices exceeds the payment total.")
        fields["Line"] = lines
        if "TxnDate" in fields:
            fields["TxnDate"] = values.txn_date(fields["TxnDate"], "TxnDate")
        if "PrivateNote" in fields:
            values.text(fields["PrivateNote"], "PrivateNote", MAX_PRIVATE_NOTE)
        fields.setdefault("DepositToAccountRef", {"value": "3", "name": "Undeposited Funds"})
        return fields, {}

    def _payment_line(self, line: Any, customer: Record, currency: str) -> dict:
        if not isinstance(line, dict) or "Amount" not in line:
            raise faults.required_missing("Line.Amount")
        linked = line.get("LinkedTxn")
        if not isinstance(linked, list) or len(linked) != 1 or linked[0].get("TxnType") != "Invoice":
            raise faults.required_missing("Line.LinkedTxn")
        invoice_id = str(linked[0].get("TxnId"))
        invoice = self.records["Invoice"].get(invoice_id)
        if invoice is None:
            raise faults.invalid_reference("LinkedTxn", invoice_id)
        if invoice.fields["CustomerRef"]["value"] != customer.id:
            raise faults.business_validation("The invoice belongs to a different customer than the payment.")
        amount = values.money(values.amount(line["Amount"], "Line.Amount"), currency)
        if amount <= 0 or amount > self._invoice_balance(invoice):
            raise faults.business_validation(f"The amount applied to invoice {invoice_id} exceeds its open balance.")
        return {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}

    def _render_payment(self, record: Record) -> dict:
        fields = record.fields
        total = fields["TotalAmt"]
        applied = sum((line["Amount"] for line in fields["Line"]), Decimal(0))
        currency = fields["CurrencyRef"]["value"]
        return {
            "ProcessPayment": False, **fields,
            "TxnDate": fields.get("TxnDate") or record.created[:10],
            "TotalAmt": total, "UnappliedAmt": values.money(total - applied, currency),
        }



def _corrupted(record: Record, rendered: dict) -> dict:
    """What reads show of a record: the rendered properties, with what was planted (Record.corrupt) over them."""
    if not record.corrupt:
        return rendered
    shown = dict(rendered)
    for name, value in record.corrupt.items():
        if value is None:
            shown.pop(name, None)
        else:
            shown[name] = value
    return shown


def _is_subtotal(line: Any) -> bool:
    return isinstance(line, dict) and line.get("DetailType") == "SubTotalLineDetail"
