"""Which properties QuickBooks Online lets a query filter (WHERE) and sort (ORDERBY) on, per entity.

QuickBooks answers a WHERE or ORDERBY on any other property with 400, ValidationFault, code 4001,
"Invalid query", "QueryValidationError: property 'X' is not queryable" (ruckus/quickbooks-ruby#403,
intuit/QuickBooks-V3-DotNET-SDK#163, where Intuit's engineer adds: "The property which are mentioned
as filterable are only queryable"). The API reference marks each attribute "filterable" / "sortable".

Sources (the API reference pages themselves were not in the material searched, so these are copies):
- A: intuit/quickbooks-online-mcp-server, src/tools/search-{invoices,items,accounts}.tool.ts, whose
  filter and sort lists say they are "derived from" the entity pages' Filterable / Sortable columns;
- B: TypeScript entity types "extracted from official Intuit Developer documentation" (Payment,
  CreditMemo, RefundReceipt, Deposit, TaxCode), attributes tagged @filterable, and "Sort order is ASC
  by default" on the ones the reference marks sortable;
- C: Nytely-Official/quickbooks-api src/types/enums/filters.ts (Customer and Invoice filterables,
  linked to the entity pages);
- D: the two issues above (Vendor PrimaryEmailAddr and AcctNum, Account AcctNum refused).

Conservative by rule: where the sources disagree or say nothing, the property is left out. Refusing
what QuickBooks accepts costs a workaround here; accepting what it refuses would hide a production
failure. Each entity says what was left out and why.
"""

from __future__ import annotations

# Every entity: IntuitEntity.Id and ModificationMetaData's times are filterable and sortable (A, B, and
# Intuit's XSD annotations "Filterable: ALL, Sortable: ALL" on MetaData.CreateTime/LastUpdatedTime).
_ALWAYS = frozenset({"Id", "MetaData.CreateTime", "MetaData.LastUpdatedTime"})


def _set(*names: str) -> frozenset[str]:
    return _ALWAYS | frozenset(names)


FILTERABLE: dict[str, frozenset[str]] = {
    # C lists these; A's (non-exhaustive) field list agrees on DisplayName, GivenName, FamilyName, CompanyName,
    # PrimaryEmailAddr, Balance, Active. PrimaryEmailAddr is filterable on Customer but not on Vendor (D).
    # Left out: CurrencyRef, PrimaryPhone (A lists PrimaryPhone, C does not), AcctNum (refused, D).
    "Customer": _set("DisplayName", "GivenName", "MiddleName", "FamilyName", "CompanyName", "PrimaryEmailAddr",
                     "Active", "Balance", "PrintOnCheckName", "FullyQualifiedName"),
    # A and C agree on these (C omits TotalAmt, A has it; both are widely documented).
    # Left out: PrivateNote (neither lists it; B leaves it untagged on every transaction), CurrencyRef,
    # ClassRef and DepartmentRef (A only), ProjectRef and SalesTermRef (C only); every Line field.
    "Invoice": _set("DocNumber", "TxnDate", "DueDate", "CustomerRef", "TotalAmt", "Balance"),
    # B tags CustomerRef, TxnDate, PaymentRefNum (and ProjectRef, not modelled); a second copy of the MCP
    # server's payment tool lists the same plus TotalAmt and PaymentMethodRef. Left out: TotalAmt,
    # PaymentMethodRef (one source each), PrivateNote, CurrencyRef, DepositToAccountRef, Line fields.
    "Payment": _set("CustomerRef", "TxnDate", "PaymentRefNum"),
    # A. Left out: FullyQualifiedName, UnitPrice (sortable per A, not filterable), IncomeAccountRef.
    "Item": _set("Name", "Active", "Type", "Sku"),
    # A. Left out: AccountSubType, FullyQualifiedName, CurrencyRef, AcctNum (refused, D).
    "Account": _set("Name", "SubAccount", "ParentRef", "Description", "Active", "Classification", "AccountType",
                    "CurrentBalance"),
    # B. Left out: Taxable, TaxGroup (untagged).
    "TaxCode": _set("Name", "Active", "Description"),
    # B (also ProjectRef, SalesTermRef, not modelled). Left out: TotalAmt, PrivateNote, CurrencyRef.
    "CreditMemo": _set("CustomerRef", "TxnDate", "DocNumber", "Balance"),
    # B (also ProjectRef, PaymentType and the CheckPayment / CreditCardPayment objects, not modelled).
    # Left out: TotalAmt, PaymentRefNum, PrivateNote, DepositToAccountRef, CurrencyRef.
    "RefundReceipt": _set("CustomerRef", "TxnDate", "DocNumber", "Balance"),
    # B. Left out: TotalAmt, PrivateNote, DepositToAccountRef, CurrencyRef.
    "Deposit": _set("TxnDate"),
    # No source found for JournalEntry beyond the common three (laf-rge/quickbooks-mcp#8 only warns that its
    # limits resemble Bill's). Left out, unconfirmed: DocNumber, TxnDate, TotalAmt, PrivateNote.
    "JournalEntry": _set(),
}

SORTABLE: dict[str, frozenset[str]] = {
    # No source lists Customer's sortables. Left out, unconfirmed: DisplayName and the other names, Balance.
    "Customer": _set(),
    # A. Left out: DueDate, CustomerRef (filterable only per A).
    "Invoice": _set("DocNumber", "TxnDate", "TotalAmt", "Balance"),
    # B marks TxnDate; the MCP copy adds TotalAmt (left out, one source).
    "Payment": _set("TxnDate"),
    # A.
    "Item": _set("Name", "ParentRef", "PrefVendorRef", "UnitPrice", "Type", "QtyOnHand"),
    # A.
    "Account": _set("Name", "SubAccount", "ParentRef", "Description", "CurrentBalance"),
    # B marks only Id.
    "TaxCode": _set(),
    # B marks TxnDate (not DocNumber, for CreditMemo).
    "CreditMemo": _set("TxnDate"),
    # B marks TxnDate and DocNumber.
    "RefundReceipt": _set("TxnDate", "DocNumber"),
    # B marks TxnDate.
    "Deposit": _set("TxnDate"),
    # No source: the common three only.
    "JournalEntry": _set(),
}
