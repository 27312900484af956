"""One reconciliation pass over invoices: Stripe (through the canonical table) against QuickBooks.

QuickBooks records come from the latest full read landed in the hub. A QuickBooks invoice that
carries no Stripe link was made outside Concord: it is keyed "qbo:<Id>" so it shows up as extra.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from mappings.canonical import Invoice, MappingError, Mismatch
from mappings.money import from_decimal
from mappings.quickbooks import invoice_from_quickbooks
from reconciliation.invoices import diff_invoices
from store.hub import Hub

ENTITY = "invoice"
UNLINKED_PREFIX = "qbo:"


@dataclass(frozen=True)
class InvoiceReconciliation:
    mismatches: list[Mismatch]
    compared: int
    quickbooks_records: int


def _unlinked_invoice(payload: dict) -> Invoice:
    """A QuickBooks invoice without a Stripe link, in canonical form so the diff can report it."""
    currency = (payload.get("CurrencyRef") or {}).get("value") or "USD"
    return Invoice(
        stripe_id=UNLINKED_PREFIX + str(payload["Id"]),
        customer_stripe_id="",
        number=payload.get("DocNumber"),
        status="open",
        total=from_decimal(payload.get("TotalAmt", 0), currency),
        issued_on=date.fromisoformat(payload["TxnDate"]) if payload.get("TxnDate") else date.today(),
    )


def quickbooks_invoices(hub: Hub) -> tuple[list[Invoice], dict[str, str]]:
    """QuickBooks invoices as canonical records, and stripe id -> QuickBooks Id."""
    customer_stripe_ids = {qb_id: stripe_id for stripe_id, qb_id in hub.links("customer", "quickbooks").items()}
    invoices, ids = [], {}
    for qb_id, payload in hub.raw_payloads("quickbooks", ENTITY):
        try:
            invoice = invoice_from_quickbooks(payload, customer_stripe_ids)
        except MappingError:
            invoice = _unlinked_invoice(payload)
        if invoice.stripe_id in ids:
            # Two QuickBooks invoices claim one Stripe invoice: the second is extra.
            invoice = replace(invoice, stripe_id=UNLINKED_PREFIX + qb_id)
        ids[invoice.stripe_id] = qb_id
        invoices.append(invoice)
    return invoices, ids


def reconcile_invoices(hub: Hub, run_id: str) -> InvoiceReconciliation:
    master = [invoice for invoice in hub.invoices() if invoice.status != "draft"]
    copy, copy_ids = quickbooks_invoices(hub)
    # A deleted QuickBooks invoice is gone from the read, but the hub still knows which Id it had.
    known_ids = {**hub.links(ENTITY, "quickbooks"), **copy_ids}
    found = diff_invoices(master, copy, known_ids)
    hub.replace_mismatches(ENTITY, run_id, found)
    return InvoiceReconciliation(mismatches=found, compared=len(master), quickbooks_records=len(copy))
