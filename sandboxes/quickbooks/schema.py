"""Which properties each QuickBooks entity accepts, from the v3 XSDs (minorversion 75).

A request with a property not listed here gets the real 2010 "unsupported property" fault, so a
mapping that misspells a field fails in tests instead of being silently dropped.
"""

from __future__ import annotations

from decimal import Decimal

_INTUIT_ENTITY = {"Id", "SyncToken", "MetaData", "CustomField", "AttachableRef", "domain", "sparse", "status"}

_NAME_BASE = {
    "IntuitId", "Organization", "Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "FullyQualifiedName",
    "CompanyName", "DisplayName", "PrintOnCheckName", "UserId", "Active", "V4IDPseudonym", "PrimaryPhone",
    "AlternatePhone", "Mobile", "Fax", "PrimaryEmailAddr", "WebAddr", "OtherContactInfo", "DefaultTaxCodeRef",
}

_CUSTOMER = {
    "Taxable", "BillAddr", "ShipAddr", "OtherAddr", "ContactName", "AltContactName", "Notes", "Job",
    "BillWithParent", "RootCustomerRef", "ParentRef", "Level", "CustomerTypeRef", "SalesTermRef", "SalesRepRef",
    "TaxGroupCodeRef", "TaxRateRef", "PaymentMethodRef", "CCDetail", "PriceLevelRef", "Balance", "OpenBalanceDate",
    "BalanceWithJobs", "CreditLimit", "AcctNum", "CurrencyRef", "OverDueBalance", "TotalRevenue", "TotalExpense",
    "PreferredDeliveryMethod", "ResaleNum", "JobInfo", "TDSEnabled", "CustomerEx", "SecondaryTaxIdentifier",
    "ARAccountRef", "PrimaryTaxIdentifier", "TaxExemptionReasonId", "IsProject", "BusinessNumber", "GSTIN",
    "GSTRegistrationType", "IsCISContractor", "ClientCompanyId", "ClientEntityId", "Source", "TaxRegime",
}

_TRANSACTION = {
    "DocNumber", "TxnDate", "TxnSubType", "DepartmentRef", "CurrencyRef", "ExchangeRate", "PrivateNote",
    "TxnStatus", "LinkedTxn", "Line", "TxnTaxDetail", "TxnSource", "TaxFormType", "TaxFormNum",
    "TransactionLocationType", "Tag", "TxnApprovalInfo", "RecurDataRef", "RecurringInfo", "ProjectRef",
    "TotalCostAmount", "HomeTotalCostAmount",
}

_SALES_TRANSACTION = {
    "AutoDocNumber", "CustomerRef", "CustomerMemo", "BillAddr", "ShipAddr", "FreeFormAddress", "ShipFromAddr",
    "RemitToRef", "ClassRef", "SalesTermRef", "DueDate", "SalesRepRef", "PONumber", "FOB", "ShipMethodRef",
    "ShipDate", "TrackingNum", "GlobalTaxCalculation", "TotalAmt", "HomeTotalAmt", "ApplyTaxAfterDiscount",
    "ShippingTaxIncludedInTotalTax", "TemplateRef", "PrintStatus", "EmailStatus", "BillEmail", "BillEmailCc",
    "BillEmailBcc", "ARAccountRef", "Balance", "HomeBalance", "FinanceCharge", "PaymentMethodRef", "PaymentRefNum",
    "PaymentType", "CheckPayment", "CreditCardPayment", "DepositToAccountRef", "DeliveryInfo", "DiscountRate",
    "DiscountAmt", "GovtTxnRefIdentifier", "TaxExemptionRef",
}

_INVOICE = {
    "Deposit", "AllowIPNPayment", "AllowOnlinePayment", "AllowOnlineCreditCardPayment", "AllowOnlineACHPayment",
    "AllowOnlinePayPalPayment", "AllowOnlineAffirmPayment", "EInvoiceStatus", "ECloudStatusTimeStamp", "CfdiUse",
    "Exportation", "GlobalInfo", "invoiceStatus", "callToAction", "invoiceStatusLog", "InvoiceEx", "LessCIS",
    "InvoiceLink", "PaymentDetailsMessage", "ConvenienceFeeDetail", "EnabledSurchargeInfo",
    "InvoiceLinkSecurityCode", "InvoiceLinkExpiryDate", "AutoPayEligible", "SchedulePayEligible",
    "ScheduledPaymentId", "GratuityEnabled", "FinancingProductType", "SubscriptionPaymentsSetting",
    "TxnRetainageDetail",
}

_PAYMENT = {
    "CustomerRef", "RemitToRef", "ARAccountRef", "DepositToAccountRef", "PaymentMethodRef", "PaymentRefNum",
    "PaymentType", "CheckPayment", "CreditCardPayment", "TotalAmt", "UnappliedAmt", "ProcessPayment",
    "PaymentExtendedType", "PaymentEx",
}

_ACCOUNT = {
    "Name", "SubAccount", "ParentRef", "Description", "FullyQualifiedName", "AccountAlias", "TxnLocationType",
    "Active", "Classification", "AccountType", "AccountSubType", "AccountPurposes", "AcctNum", "AcctNumExtn",
    "BankNum", "OpeningBalance", "OpeningBalanceDate", "CurrentBalance", "CurrentBalanceWithSubAccounts",
    "CurrencyRef", "TaxAccount", "TaxCodeRef", "OnlineBankingEnabled", "FIName", "JournalCodeRef", "AccountEx",
}

_ITEM = {
    "Name", "Sku", "Description", "Active", "SubItem", "ParentRef", "Level", "FullyQualifiedName", "Taxable",
    "SalesTaxIncluded", "PercentBased", "UnitPrice", "RatePercent", "Type", "PaymentMethodRef", "UOMSetRef",
    "IncomeAccountRef", "PurchaseDesc", "PurchaseTaxIncluded", "PurchaseCost", "ExpenseAccountRef", "COGSAccountRef",
    "AssetAccountRef", "PrefVendorRef", "AvgCost", "TrackQtyOnHand", "QtyOnHand", "QtyOnPurchaseOrder",
    "QtyOnSalesOrder", "ReorderPoint", "ManPartNum", "DepositToAccountRef", "SalesTaxCodeRef", "PurchaseTaxCodeRef",
    "InvStartDate", "BuildPoint", "PrintGroupedItems", "SpecialItem", "SpecialItemType", "ItemGroupDetail",
    "ItemAssemblyDetail", "AbatementRate", "ReverseChargeRate", "ServiceType", "ItemCategoryType", "ItemEx",
    "TaxClassificationRef", "UQCDisplayText", "UQCId", "ClassRef", "Source", "DeferredRevenue", "CustomExtensions",
}

_TAX_CODE = {
    "Name", "Description", "Active", "Hidden", "Taxable", "TaxGroup", "SalesTaxRateList", "PurchaseTaxRateList",
    "AdjustmentTaxRateList", "TaxCodeEx", "TaxCodeConfigType",
}

_CREDIT_MEMO = {"RemainingCredit", "InvoiceRef", "CreditMemoEx"}
_REFUND_RECEIPT = {"RemainingCredit", "RefundReceiptEx"}
_DEPOSIT = {"DepositToAccountRef", "CashBack", "GlobalTaxCalculation", "TotalAmt", "HomeTotalAmt", "DepositEx"}
_JOURNAL_ENTRY = {
    "Adjustment", "HomeCurrencyAdjustment", "EnteredInHomeCurrency", "GlobalTaxCalculation", "TotalAmt",
    "HomeTotalAmt", "JournalEntryEx",
}

ACCEPTED_PROPERTIES: dict[str, set[str]] = {
    "Customer": _INTUIT_ENTITY | _NAME_BASE | _CUSTOMER,
    "Invoice": _INTUIT_ENTITY | _TRANSACTION | _SALES_TRANSACTION | _INVOICE,
    "Payment": _INTUIT_ENTITY | _TRANSACTION | _PAYMENT,
    "Account": _INTUIT_ENTITY | _ACCOUNT,
    "Item": _INTUIT_ENTITY | _ITEM,
    "TaxCode": _INTUIT_ENTITY | _TAX_CODE,
    "CreditMemo": _INTUIT_ENTITY | _TRANSACTION | _SALES_TRANSACTION | _CREDIT_MEMO,
    "RefundReceipt": _INTUIT_ENTITY | _TRANSACTION | _SALES_TRANSACTION | _REFUND_RECEIPT,
    "Deposit": _INTUIT_ENTITY | _TRANSACTION | _DEPOSIT,
    "JournalEntry": _INTUIT_ENTITY | _TRANSACTION | _JOURNAL_ENTRY,
}

# Name-list entities are never deleted: they go inactive (Active=false), and queries skip inactive
# rows unless the WHERE clause names Active. Transactions are deleted outright.
NAME_LIST = ("Customer", "Item", "Account", "TaxCode")

# Properties QuickBooks computes; a client may echo them back (a full update of a fetched object)
# but what it sends is ignored.
READ_ONLY = {
    "Id", "SyncToken", "MetaData", "domain", "sparse", "status", "FullyQualifiedName", "Balance",
    "BalanceWithJobs", "TotalAmt", "HomeTotalAmt", "HomeBalance", "LinkedTxn", "UnappliedAmt", "TxnTaxDetail",
    "RemainingCredit", "CurrentBalance", "CurrentBalanceWithSubAccounts", "Level",
}

# Currencies the sandbox company has enabled (multicurrency on, home USD): name, decimals, rate to USD.
HOME_CURRENCY = "USD"
CURRENCIES: dict[str, tuple[str, int, Decimal]] = {
    "USD": ("United States Dollar", 2, Decimal("1")),
    "EUR": ("Euro", 2, Decimal("1.08")),
    "GBP": ("British Pound Sterling", 2, Decimal("1.27")),
    "CAD": ("Canadian Dollar", 2, Decimal("0.73")),
    "AUD": ("Australian Dollar", 2, Decimal("0.66")),
    "CHF": ("Swiss Franc", 2, Decimal("1.12")),
    "JPY": ("Japanese Yen", 0, Decimal("0.0067")),
    "KWD": ("Kuwaiti Dinar", 3, Decimal("3.25")),
}

MAX_DISPLAY_NAME = 500
MAX_DOC_NUMBER = 21
MAX_PRIVATE_NOTE = 4000
MAX_NOTES = 2000
