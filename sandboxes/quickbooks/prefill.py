"""Books as a finished first sync would leave them: a Customer per seeded account, an Invoice per seeded invoice.

The sandbox starts with an empty company because Concord's sync fills it. Benchmarks and scale tests
need a company that already holds 100,000 customers, which no client could create within QuickBooks'
throttle in reasonable time, so the control API builds it in place. Invoices go through the same
validation as an API create (references, currency decimals, line amounts); customers skip only the
name-uniqueness scan, which is quadratic over a list this size and cannot fail here (the seed's
names are unique by construction).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandboxes.quickbooks import values
from sandboxes.quickbooks.schema import CURRENCIES
from sandboxes.seed import SeedData


def _major_units(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-CURRENCIES[currency][1])


def _customer_fields(account: Any) -> dict:
    return {
        "DisplayName": account.name, "CompanyName": account.name[:100], "Active": True,
        "Notes": f"stripe:{account.stripe_customer_id}\nsalesforce:{account.salesforce_id}",
        "PrimaryEmailAddr": {"Address": account.email},
        "CurrencyRef": values.currency_ref(account.currency.upper()),
    }


def _invoice_fields(invoice: Any, customer_id: str) -> dict:
    currency = invoice.currency.upper()
    lines = []
    for number, line in enumerate(invoice.lines, start=1):
        lines.append({
            "LineNum": number, "Description": line.description, "DetailType": "SalesItemLineDetail",
            "Amount": _major_units(line.quantity * line.unit_amount, currency),
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": Decimal(line.quantity),
                                    "UnitPrice": _major_units(line.unit_amount, currency)},
        })
    return {
        "CustomerRef": {"value": customer_id}, "CurrencyRef": values.currency_ref(currency),
        "PrivateNote": f"stripe:{invoice.stripe_id}", "DocNumber": invoice.number[:21], "Line": lines,
        "TxnDate": _day(invoice.created), "DueDate": _day(invoice.due_date),
    }


def _day(unix_seconds: int) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).date().isoformat()


def prefill_books(company: Any, seed: SeedData) -> dict[str, int]:
    """Add the seed's customers and invoices to `company`; returns how many of each were added."""
    customer_ids: dict[str, str] = {}
    for account in seed.accounts:
        record = company._insert("Customer", _customer_fields(account))
        customer_ids[account.stripe_customer_id] = record.id
    for invoice in seed.invoices:
        fields, extra = company._validate("Invoice", _invoice_fields(invoice, customer_ids[invoice.customer]), None)
        record = company._insert("Invoice", fields, extra)
        company._after_write(record, previous=None)
    return {"Customer": len(customer_ids), "Invoice": len(seed.invoices)}
