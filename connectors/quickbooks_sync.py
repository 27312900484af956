"""Write canonical customers, invoices and payments to QuickBooks through the outbox.

Planning decides what QuickBooks lacks and stores one outbox row per write, with its idempotency
key, before any call. Pushing sends each pending row with that key as `requestid`, so QuickBooks
replays instead of writing twice, and looks the record up first, so a retry after QuickBooks'
replay window (or after a crash between the call and `mark_done`) still finds the earlier write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from quickbooks.exceptions import QuickbooksException

from connectors.outbox_keys import idempotency_key
from connectors.quickbooks import QuickBooksConnector
from mappings.canonical import Customer, Invoice
from mappings.quickbooks import customer_to_quickbooks, invoice_to_quickbooks, payment_to_quickbooks
from store.hub import Hub

log = logging.getLogger("concord.sync.quickbooks")

SYSTEM = "quickbooks"
STRIPE_NOTE_PREFIX = "stripe:"
# Invoices in these Stripe states are not (yet) accounting documents.
UNSYNCED_INVOICE_STATUSES = frozenset({"draft"})

Progress = Callable[[str], None]


@dataclass
class PushCounts:
    planned: int = 0
    written: int = 0
    adopted: int = 0  # found already in QuickBooks (earlier crashed write, or made by a person)
    waiting: int = 0  # cannot go yet (e.g. its customer is not in QuickBooks)
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, int]:
        return {
            "planned": self.planned,
            "written": self.written,
            "adopted": self.adopted,
            "waiting": self.waiting,
            "failed": self.failed,
        }


def _enqueue(hub: Hub, entity: str, canonical_key: str, record: dict) -> bool:
    key = idempotency_key(entity, "create", canonical_key)
    existing = hub.outbox_row(key)
    if existing is not None:
        return False
    hub.enqueue(SYSTEM, entity, "create", canonical_key, key, {"record": record})
    return True


def plan_customers(hub: Hub) -> int:
    """Queue a create for every canonical customer QuickBooks does not have yet."""
    linked = hub.links("customer", SYSTEM)
    return sum(
        _enqueue(hub, "customer", customer.stripe_id, customer.as_dict())
        for customer in hub.customers()
        if customer.stripe_id not in linked
    )


def plan_invoices(hub: Hub) -> int:
    """Queue an invoice create for every unsynced invoice, and a payment for every paid one."""
    invoice_links = hub.links("invoice", SYSTEM)
    payment_links = hub.links("payment", SYSTEM)
    planned = 0
    for invoice in hub.invoices():
        if invoice.status in UNSYNCED_INVOICE_STATUSES:
            continue
        if invoice.stripe_id not in invoice_links:
            planned += _enqueue(hub, "invoice", invoice.stripe_id, invoice.as_dict())
        if invoice.status == "paid" and invoice.stripe_id not in payment_links:
            planned += _enqueue(hub, "payment", invoice.stripe_id, invoice.as_dict())
    return planned


def _fail(hub: Hub, counts: PushCounts, row, error: str) -> None:
    hub.mark_failed(row.id, error)
    counts.failed += 1
    counts.errors.append(f"{row.entity} {row.canonical_key}: {error}")
    log.error("QuickBooks %s write for %s failed: %s", row.entity, row.canonical_key, error)


def _customer_payload(hub: Hub, qb: QuickBooksConnector, customer: Customer) -> tuple[dict, dict | None]:
    """The payload to create, and the QuickBooks customer already holding that name, if free to adopt.

    DisplayName is unique in QuickBooks. A same-named customer that is linked to another Stripe
    customer is not ours to adopt: this one gets its Stripe id appended to stay distinct.
    """
    payload = customer_to_quickbooks(customer)
    existing = qb.find_customer_by_display_name(payload["DisplayName"])
    if existing is None:
        return payload, None
    owner = hub.reverse_lookup("customer", SYSTEM, existing["Id"])
    if owner in (None, customer.stripe_id):
        return payload, existing
    payload = customer_to_quickbooks(customer, disambiguate=True)
    return payload, qb.find_customer_by_display_name(payload["DisplayName"])


def push_customers(hub: Hub, qb: QuickBooksConnector, progress: Progress | None = None) -> PushCounts:
    counts = PushCounts(planned=plan_customers(hub))
    rows = hub.pending(SYSTEM, "customer")
    for index, row in enumerate(rows, start=1):
        customer = Customer(**row.payload["record"])
        hub.mark_attempt(row.id)
        try:
            payload, existing = _customer_payload(hub, qb, customer)
            if existing is not None:
                counts.adopted += 1
                qb_id, reason = existing["Id"], "adopted_by_display_name"
            else:
                qb_id = qb.create_customer(payload, request_id=row.idempotency_key)["Id"]
                counts.written += 1
                reason = "created_by_concord"
        except QuickbooksException as exc:
            _fail(hub, counts, row, f"QuickBooks fault {getattr(exc, 'error_code', '')}: {exc}")
            continue
        hub.link("customer", customer.stripe_id, SYSTEM, qb_id, reason=reason)
        hub.mark_done(row.id, qb_id)
        if progress and index % 25 == 0:
            progress(f"customers: {index}/{len(rows)} pushed to QuickBooks")
    return counts


def push_invoices(hub: Hub, qb: QuickBooksConnector, progress: Progress | None = None) -> PushCounts:
    """Push invoices first, then the payments that apply to them."""
    counts = PushCounts(planned=plan_invoices(hub))
    rows = hub.pending(SYSTEM, "invoice") + hub.pending(SYSTEM, "payment")
    item_ref = qb.service_item_ref() if rows else None
    for index, row in enumerate(rows, start=1):
        invoice = Invoice.from_dict(row.payload["record"])
        customer_ref = hub.lookup("customer", invoice.customer_stripe_id, SYSTEM)
        if customer_ref is None:
            counts.waiting += 1
            log.warning("invoice %s waits: its customer %s is not in QuickBooks yet",
                        invoice.stripe_id, invoice.customer_stripe_id)
            continue
        hub.mark_attempt(row.id)
        try:
            if row.entity == "invoice":
                qb_id, adopted = _write_invoice(qb, invoice, customer_ref, item_ref, row.idempotency_key)
            else:
                invoice_ref = hub.lookup("invoice", invoice.stripe_id, SYSTEM)
                if invoice_ref is None:
                    counts.waiting += 1
                    continue
                payment = payment_to_quickbooks(invoice, invoice_ref, customer_ref)
                qb_id, adopted = qb.create_payment(payment, request_id=row.idempotency_key)["Id"], False
        except QuickbooksException as exc:
            _fail(hub, counts, row, f"QuickBooks fault {getattr(exc, 'error_code', '')}: {exc}")
            continue
        counts.adopted += adopted
        counts.written += not adopted
        hub.link(row.entity, invoice.stripe_id, SYSTEM, qb_id,
                 reason="found_by_stripe_note" if adopted else "created_by_concord")
        hub.mark_done(row.id, qb_id)
        if progress and index % 25 == 0:
            progress(f"invoices: {index}/{len(rows)} pushed to QuickBooks")
    return counts


def _write_invoice(qb: QuickBooksConnector, invoice: Invoice, customer_ref: str, item_ref: dict,
                   request_id: str) -> tuple[str, bool]:
    existing = qb.find_invoice_by_private_note(STRIPE_NOTE_PREFIX + invoice.stripe_id)
    if existing is not None:
        return existing["Id"], True
    created = qb.create_invoice(invoice_to_quickbooks(invoice, customer_ref, item_ref), request_id=request_id)
    return created["Id"], False
