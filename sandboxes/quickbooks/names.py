"""Name-list entities: Account, Item, TaxCode, and the inactive-instead-of-deleted rule they share with Customer.

QuickBooks never deletes a list entry that transactions may point at: a client sets `Active: false`
and QuickBooks renames the entry "<name> (deleted)" so its name is free again; queries skip it unless
they filter on Active, and a transaction that references it fails with 610 "made inactive".
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandboxes.quickbooks import faults, values
from sandboxes.quickbooks.schema import HOME_CURRENCY

if TYPE_CHECKING:
    from sandboxes.quickbooks.company import Record

DELETED_SUFFIX = " (deleted)"
MAX_LIST_NAME = 100

# AccountType -> (Classification, default AccountSubType), from QuickBooks' account type enumeration.
ACCOUNT_TYPES: dict[str, tuple[str, str]] = {
    "Bank": ("Asset", "Checking"),
    "Other Current Asset": ("Asset", "OtherCurrentAssets"),
    "Fixed Asset": ("Asset", "OtherFixedAssets"),
    "Other Asset": ("Asset", "OtherLongTermAssets"),
    "Accounts Receivable": ("Asset", "AccountsReceivable"),
    "Equity": ("Equity", "OpeningBalanceEquity"),
    "Expense": ("Expense", "OtherMiscellaneousServiceCost"),
    "Other Expense": ("Expense", "OtherMiscellaneousExpense"),
    "Cost of Goods Sold": ("Expense", "SuppliesMaterialsCogs"),
    "Accounts Payable": ("Liability", "AccountsPayable"),
    "Credit Card": ("Liability", "CreditCard"),
    "Long Term Liability": ("Liability", "OtherLongTermLiabilities"),
    "Other Current Liability": ("Liability", "OtherCurrentLiabilities"),
    "Income": ("Revenue", "ServiceFeeIncome"),
    "Other Income": ("Revenue", "OtherMiscellaneousIncome"),
}
ITEM_TYPES = ("Service", "NonInventory", "Inventory")


def _active_flag(fields: dict) -> bool:
    active = fields.get("Active", True)
    if not isinstance(active, bool):
        raise faults.unsupported_property("Active")
    return active


class NameListRules:
    """Mixed into Company; relies on its `records`, `_insert` and reference helpers."""

    records: dict[str, dict[str, Record]]
    _insert: Callable[..., Record]
    account_balance: Callable[[str], Decimal]

    # ---- shared -----------------------------------------------------------------------------
    def _list_name(self, entity: str, name_field: str, fields: dict, existing: Record | None) -> str:
        """The stored name after the Active rule: "(deleted)" added on deactivation, dropped on reactivation."""
        name = str(fields[name_field])
        active = _active_flag(fields)
        was_active = existing is None or existing.fields.get("Active", True)
        if not active and was_active:
            base, suffix, number = name, DELETED_SUFFIX, 1
            while self._name_taken(entity, name_field, base + suffix, existing):
                suffix = f" (deleted-{number})"
                number += 1
            return base + suffix
        if active and not was_active and name.endswith(DELETED_SUFFIX):
            return name[: -len(DELETED_SUFFIX)]
        return name

    def _name_taken(self, entity: str, name_field: str, name: str, existing: Record | None) -> bool:
        return any(other is not existing and other.fields.get(name_field) == name
                   for other in self.records[entity].values())

    def _active_reference(self, entity: str, reference: Any, element: str) -> tuple[Record, dict]:
        """A {value, name} reference to an active list entry, named as QuickBooks echoes it back."""
        record_id = values.reference_id(reference, element)
        record = self.records[entity].get(record_id)
        if record is None:
            raise faults.invalid_reference(element, record_id)
        if not record.fields.get("Active", True):
            raise faults.object_inactive(entity, record_id)
        name_field = "DisplayName" if entity == "Customer" else "Name"
        return record, {"value": record.id, "name": record.fields[name_field]}

    # ---- accounts ---------------------------------------------------------------------------
    def _validate_account(self, fields: dict, existing: Record | None) -> tuple[dict, dict]:
        fields = dict(fields)
        if not fields.get("Name"):
            raise faults.required_missing("Name")
        values.text(fields["Name"], "Name", MAX_LIST_NAME)
        if ":" in fields["Name"]:
            raise faults.invalid_string("Name", fields["Name"])
        account_type = fields.get("AccountType")
        if account_type is None and existing is not None:
            account_type = existing.fields["AccountType"]
        if account_type is None:
            raise faults.required_missing("AccountType")
        if account_type not in ACCOUNT_TYPES:
            raise faults.invalid_enumeration("AccountType", account_type)
        classification, default_sub_type = ACCOUNT_TYPES[account_type]
        fields["AccountType"] = account_type
        fields["Classification"] = classification
        fields.setdefault("AccountSubType", default_sub_type)
        currency = values.currency_code(fields["CurrencyRef"]) if "CurrencyRef" in fields else HOME_CURRENCY
        if existing is not None and currency != existing.fields["CurrencyRef"]["value"]:
            raise faults.business_validation("You can't change the currency of an account.")
        fields["CurrencyRef"] = values.currency_ref(currency)
        fields["Active"] = _active_flag(fields)
        fields["Name"] = self._list_name("Account", "Name", fields, existing)
        if self._name_taken("Account", "Name", fields["Name"], existing):
            raise faults.duplicate_list_name("account", fields["Name"])
        return fields, {}

    def _render_account(self, record: Record) -> dict:
        balance = self.account_balance(record.id)
        return {
            "SubAccount": False, **record.fields, "FullyQualifiedName": record.fields["Name"],
            "CurrentBalance": balance, "CurrentBalanceWithSubAccounts": balance,
        }

    # ---- items ------------------------------------------------------------------------------
    def _validate_item(self, fields: dict, existing: Record | None) -> tuple[dict, dict]:
        fields = dict(fields)
        if not fields.get("Name"):
            raise faults.required_missing("Name")
        values.text(fields["Name"], "Name", MAX_LIST_NAME)
        if ":" in fields["Name"]:
            raise faults.invalid_string("Name", fields["Name"])
        item_type = fields.setdefault("Type", "Service" if existing is None else existing.fields["Type"])
        if item_type not in ITEM_TYPES:
            raise faults.invalid_enumeration("Type", item_type)
        if item_type == "Inventory":
            for required in ("QtyOnHand", "InvStartDate", "AssetAccountRef"):
                if required not in fields:
                    raise faults.required_missing(required)
        if "IncomeAccountRef" not in fields:
            raise faults.required_missing("IncomeAccountRef")
        for ref in ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"):
            if ref in fields:
                _, fields[ref] = self._active_reference("Account", fields[ref], ref)
        for amount in ("UnitPrice", "PurchaseCost", "QtyOnHand"):
            if amount in fields:
                fields[amount] = values.amount(fields[amount], amount)
        fields["Active"] = _active_flag(fields)
        fields["Name"] = self._list_name("Item", "Name", fields, existing)
        if self._name_taken("Item", "Name", fields["Name"], existing):
            raise faults.duplicate_list_name("product or service", fields["Name"])
        return fields, {}

    def _render_item(self, record: Record) -> dict:
        return {
            "Taxable": False, "UnitPrice": Decimal(0), "PurchaseCost": Decimal(0), "TrackQtyOnHand": False,
            **record.fields, "FullyQualifiedName": record.fields["Name"],
        }

    # ---- tax codes --------------------------------------------------------------------------
    def _seed_tax_codes(self) -> None:
        # A US company's pseudo tax codes: lines say TAX or NON; the tax engine owns real rates.
        for code, taxable in (("TAX", True), ("NON", False)):
            self._insert("TaxCode", {"Name": code, "Description": "TAX" if taxable else "Non",
                                     "Taxable": taxable, "TaxGroup": False, "Active": True}, record_id=code)

    def _render_taxcode(self, record: Record) -> dict:
        return {"Hidden": False, **record.fields}
