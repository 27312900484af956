"""Write canonical customers, invoices and payments to QuickBooks through the outbox.

Planning decides what QuickBooks lacks and stores one outbox row per write, with its idempotency
key and generation, before any call. Pushing takes the pending rows 30 at a time: it looks every one
up in QuickBooks first (one query per 30, on filterable properties only: customers by DisplayName,
invoices by DocNumber, payments by CustomerRef and TxnDate, each confirmed by the "stripe:<id>" private note), so a
retry after QuickBooks' replay window, or after a crash between the call and `mark_done`, finds the
earlier write instead of repeating it; the rest go out as one batch call (connectors.quickbooks_batch)
or, with batch_size 1, one create per row with its own requestid. A Fault fails only its own row;
a row that has failed `hub.max_attempts` times goes to the dead letters with the fault as its reason.
Records whose owned fields changed since Concord wrote them get sparse updates
(connectors.quickbooks_updates).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from connectors import quickbooks_batch
from connectors.cursors import id_key
from connectors.outbox_failures import fail_row
from connectors.outbox_keys import idempotency_key, new_generation
from connectors.qbo_query import Filter
from connectors.quickbooks import MAX_BATCH_ITEMS, QuickBooksConnector
from connectors.quickbooks_batch import Write, chunks
from connectors.quickbooks_updates import plan_updates, send_updates, update_write
from mappings.canonical import Customer, Invoice, MappingError
from mappings.quickbooks import MAX_DOC_NUMBER, customer_to_quickbooks, invoice_to_quickbooks, payment_to_quickbooks
from store.hub import Hub
from store.records import OutboxRow

log = logging.getLogger("concord.sync.quickbooks")

SYSTEM = "quickbooks"
STRIPE_NOTE_PREFIX = "stripe:"
# Invoices in these Stripe states are not (yet) accounting documents.
UNSYNCED_INVOICE_STATUSES = frozenset({"draft"})
# One write per call unless the caller asks for batches (up to MAX_BATCH_ITEMS).
DEFAULT_BATCH_SIZE = 1
# How far a company's day (QuickBooks dates a payment written without TxnDate with it) is from UTC's, at most.
PAYMENT_DATE_SLACK = timedelta(days=1)

Progress = Callable[[str], None]
Finished = tuple[OutboxRow, str, str | None]  # (row, QuickBooks Id, link reason or None)


@dataclass
class PushCounts:
    planned: int = 0
    written: int = 0
    adopted: int = 0  # found already in QuickBooks (earlier crashed write, or made by a person)
    updated: int = 0  # sparse updates of owned fields that changed
    waiting: int = 0  # cannot go yet (e.g. its customer is not in QuickBooks)
    failed: int = 0
    dead_lettered: int = 0  # failed for the last allowed time: now in the dead letters
    errors: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, int]:
        return {
            "planned": self.planned,
            "written": self.written,
            "adopted": self.adopted,
            "updated": self.updated,
            "waiting": self.waiting,
            "failed": self.failed,
            "dead_lettered": self.dead_lettered,
        }


def _create_row(entity: str, canonical_key: str, record: dict) -> tuple[str, str, str, str, str, dict]:
    key = idempotency_key(entity, "create", canonical_key)
    return SYSTEM, entity, "create", canonical_key, key, {"record": record, "generation": new_generation()}


def plan_customers(hub: Hub) -> int:
    """Queue a create for every canonical customer QuickBooks does not have yet."""
    linked = hub.links("customer", SYSTEM)
    return hub.enqueue_many([_create_row("customer", customer.stripe_id, customer.as_dict())
                             for customer in hub.customers() if customer.stripe_id not in linked])


def _synced_invoices(hub: Hub) -> list[Invoice]:
    return [invoice for invoice in hub.invoices() if invoice.status not in UNSYNCED_INVOICE_STATUSES]


def plan_invoices(hub: Hub) -> int:
    """Queue an invoice create for every unsynced invoice, and a payment for every paid one."""
    invoice_links = hub.links("invoice", SYSTEM)
    payment_links = hub.links("payment", SYSTEM)
    rows = []
    for invoice in _synced_invoices(hub):
        if invoice.stripe_id not in invoice_links:
            rows.append(_create_row("invoice", invoice.stripe_id, invoice.as_dict()))
        if invoice.status == "paid" and invoice.stripe_id not in payment_links:
            rows.append(_create_row("payment", invoice.stripe_id, invoice.as_dict()))
    return hub.enqueue_many(rows)


# ---- sending and recording -----------------------------------------------------------------------


def _fail(hub: Hub, counts: PushCounts, row: OutboxRow, error: str, attempt: int) -> None:
    fail_row(hub, counts, row, error, attempt, log=log, vendor="QuickBooks", record=row.payload.get("record"))


def _send(hub: Hub, qb: QuickBooksConnector, writes: Sequence[Write], rejected: Sequence[tuple[OutboxRow, str]],
          counts: PushCounts, batch_size: int, reason: str | None) -> list[Finished]:
    """Count the attempts, send, then record every outcome: done with its link, or failed.
    Rows another pusher claimed since they were read are left to it. Returns the rows that landed."""
    candidates = [write.row for write in writes] + [row for row, _ in rejected]
    claimed = hub.claim_attempts(candidates)
    attempts = {row.id: row.attempts + 1 for row in candidates if row.id in claimed}
    if len(claimed) < len(candidates):
        log.warning("%d QuickBooks row(s) were claimed by another push meanwhile; leaving them to it",
                    len(candidates) - len(claimed))
    writes = [write for write in writes if write.row.id in claimed]
    for row, error in rejected:  # refused before any call (e.g. a mapping error)
        if row.id in claimed:
            _fail(hub, counts, row, error, attempts[row.id])
    if not writes:
        return []
    outcomes = (send_updates if writes[0].operation == "update" else quickbooks_batch.send)(
        qb, writes, batch_size, attempts)
    done: list[Finished] = []
    for outcome in outcomes:
        if outcome.ok:
            done.append((outcome.write.row, str(outcome.obj["Id"]), reason))
        else:
            _fail(hub, counts, outcome.write.row, outcome.error, attempts[outcome.write.row.id])
    hub.finish_writes(done)
    if writes[0].operation == "update":
        counts.updated += len(done)
    else:
        counts.written += len(done)
    return done


def _remember(links: dict[str, dict[str, str]], finished: Sequence[Finished]) -> None:
    """Keep the push's copy of the cross-reference current (it is read once per push, not per chunk)."""
    for row, qb_id, reason in finished:
        if reason is not None:
            links.setdefault(row.entity, {})[row.canonical_key] = qb_id


def _create_rows(hub: Hub, entity: str) -> list[OutboxRow]:
    return [row for row in hub.pending(SYSTEM, entity) if row.operation == "create"]


def _ours(objects: list[dict], stripe_ids: list[str]) -> dict[str, dict]:
    """Of `objects`, those whose PrivateNote is exactly "stripe:<id>" for one of `stripe_ids`, by that id.

    QuickBooks cannot filter on PrivateNote (4001: not filterable on Invoice or Payment), so lookups query a
    filterable property that narrows the candidates and the note, which only Concord writes, decides here.
    Of two carrying the same note, the older (lower Id) is the one Concord wrote first."""
    wanted = {STRIPE_NOTE_PREFIX + stripe_id: stripe_id for stripe_id in stripe_ids}
    found: dict[str, dict] = {}
    for obj in sorted(objects, key=lambda obj: id_key(str(obj["Id"]))):
        stripe_id = wanted.get(obj.get("PrivateNote"))
        if stripe_id is not None:
            found.setdefault(stripe_id, obj)
    return found


def _existing_invoices(qb: QuickBooksConnector, todo: Sequence[tuple[Invoice, str]]) -> dict[str, dict]:
    """The invoices Concord already wrote for `todo` ((invoice, customer Id) pairs), by Stripe id.

    Found by DocNumber IN (...) (Concord writes the Stripe number, cut to QuickBooks' 21 characters), or by
    CustomerRef for an invoice without a number (QuickBooks numbers those itself); a person may reuse a
    DocNumber, so only an invoice with Concord's note is adopted."""
    numbers = [invoice.number[:MAX_DOC_NUMBER] for invoice, _ in todo if invoice.number]
    customers = [customer_ref for invoice, customer_ref in todo if not invoice.number]
    candidates = qb.find_in("Invoice", "DocNumber", numbers) if numbers else []
    candidates += qb.find_in("Invoice", "CustomerRef", customers) if customers else []
    return _ours(candidates, [invoice.stripe_id for invoice, _ in todo])


def _existing_payments(qb: QuickBooksConnector, todo: Sequence[tuple[Invoice, str]], planned_at: datetime
                       ) -> dict[str, dict]:
    """The payments Concord already wrote for `todo` ((invoice, customer Id) pairs), by the invoice's Stripe id:
    the customers' payments dated from the day before `planned_at` (when the oldest of their outbox rows was
    stored), kept only when they carry Concord's "stripe:<invoice id>" note.

    CustomerRef and TxnDate are the Payment properties every source marks filterable (PrivateNote is refused,
    PaymentRefNum has one source). The date bound holds because a payment is written only after its row is
    stored, and without a TxnDate (payment_to_quickbooks gets no paid_on here), so QuickBooks dates it with the
    company's day at the call, which is within a day of UTC's: a customer's earlier payments, every month's for
    years, are not read. Only a person backdating Concord's unrecorded payment would hide it from this lookup."""
    customers = [customer_ref for _, customer_ref in todo]
    if not customers:
        return {}
    earliest = (planned_at.astimezone(UTC).date() - PAYMENT_DATE_SLACK).isoformat()
    candidates = qb.find_in("Payment", "CustomerRef", customers, also=[Filter("TxnDate", ">=", earliest)])
    return _ours(candidates, [invoice.stripe_id for invoice, _ in todo])


# ---- customers ---------------------------------------------------------------------------------


def _by_name(qb: QuickBooksConnector, names: list[str]) -> dict[str, dict]:
    return {obj["DisplayName"]: obj for obj in qb.find_in("Customer", "DisplayName", names)} if names else {}


def _push_customer_chunk(hub: Hub, qb: QuickBooksConnector, rows: Sequence[OutboxRow], counts: PushCounts,
                         batch_size: int, links: dict[str, str], owners: dict[str, str]) -> None:
    """DisplayName is unique in QuickBooks. A same-named customer nobody else is linked to is adopted; one
    linked to another Stripe customer (or claimed by an earlier row of this chunk) is not ours, so this one
    gets its Stripe id appended to stay distinct, as customer_to_quickbooks(disambiguate=True) writes it."""
    finished: list[Finished] = []
    writes: list[Write] = []
    claimed: set[str] = set()  # DisplayNames and Ids taken by earlier rows of this chunk

    def place(row: OutboxRow, customer: Customer, payload: dict, existing: dict | None) -> bool:
        if existing is not None and owners.get(existing["Id"]) in (None, customer.stripe_id) \
                and existing["Id"] not in claimed:
            claimed.add(existing["Id"])
            finished.append((row, existing["Id"], "adopted_by_display_name"))
            return True
        if existing is None and payload["DisplayName"] not in claimed:
            claimed.add(payload["DisplayName"])
            writes.append(Write(row, "Customer", "create", payload))
            return True
        return False

    todo = []
    for row in rows:
        customer = Customer(**row.payload["record"])
        if customer.stripe_id in links:  # written by an earlier row
            finished.append((row, links[customer.stripe_id], None))
        else:
            todo.append((row, customer, customer_to_quickbooks(customer)))
    found = _by_name(qb, [payload["DisplayName"] for _, _, payload in todo])
    second = [(row, customer) for row, customer, payload in todo
              if not place(row, customer, payload, found.get(payload["DisplayName"]))]
    distinct = [(row, customer, customer_to_quickbooks(customer, disambiguate=True)) for row, customer in second]
    found = _by_name(qb, [payload["DisplayName"] for _, _, payload in distinct])
    for row, customer, payload in distinct:
        existing = found.get(payload["DisplayName"])
        if not place(row, customer, payload, existing):  # taken by someone else: QuickBooks will say 6240
            writes.append(Write(row, "Customer", "create", payload))
    counts.adopted += len(finished)
    hub.finish_writes(finished)
    for row, qb_id, reason in [*finished, *_send(hub, qb, writes, [], counts, batch_size, "created_by_concord")]:
        if reason is not None:
            links[row.canonical_key] = qb_id
            owners[qb_id] = row.canonical_key


def _customer_body(record: dict) -> dict:
    return customer_to_quickbooks(Customer(**record))


def push_customers(hub: Hub, qb: QuickBooksConnector, progress: Progress | None = None,
                   batch_size: int = DEFAULT_BATCH_SIZE) -> PushCounts:
    counts = PushCounts(planned=plan_customers(hub))
    rows = _create_rows(hub, "customer")
    links = hub.links("customer", SYSTEM)
    owners = {qb_id: key for key, qb_id in links.items()}
    for done, chunk in enumerate(chunks(rows, MAX_BATCH_ITEMS), start=1):
        _push_customer_chunk(hub, qb, chunk, counts, batch_size, links, owners)
        if progress:
            progress(f"customers: {min(done * MAX_BATCH_ITEMS, len(rows))}/{len(rows)} pushed to QuickBooks")
    counts.planned += plan_customer_updates(hub, qb)
    _push_updates(hub, qb, "customer", "Customer", _customer_body, counts, batch_size)
    return counts


def plan_customer_updates(hub: Hub, qb: QuickBooksConnector) -> int:
    """Queue a sparse update for every linked customer whose owned fields changed since Concord wrote it."""
    return plan_updates(hub, qb, SYSTEM, "customer", "Customer", [customer.as_dict() for customer in hub.customers()],
                        lambda record: record["stripe_id"], _customer_body)


# ---- invoices and payments -----------------------------------------------------------------------


def _push_invoice_chunk(hub: Hub, qb: QuickBooksConnector, rows: Sequence[OutboxRow], counts: PushCounts,
                        batch_size: int, links: dict[str, dict[str, str]]) -> None:
    customer_links, own_links, invoice_links = links["customer"], links[rows[0].entity], links["invoice"]
    finished: list[Finished] = []
    todo = []
    for row in rows:
        invoice = Invoice.from_dict(row.payload["record"])
        customer_ref = customer_links.get(invoice.customer_stripe_id)
        invoice_ref = invoice_links.get(invoice.stripe_id)
        if invoice.stripe_id in own_links:
            finished.append((row, own_links[invoice.stripe_id], None))
        elif customer_ref is None or (row.entity == "payment" and invoice_ref is None):
            counts.waiting += 1
            log.warning("%s %s waits: its customer %s (or its invoice) is not in QuickBooks yet", row.entity,
                        invoice.stripe_id, invoice.customer_stripe_id)
        else:
            todo.append((row, invoice, customer_ref, invoice_ref))
    qb_entity = "Invoice" if rows[0].entity == "invoice" else "Payment"
    pairs = [(invoice, customer_ref) for _, invoice, customer_ref, _ in todo]
    if qb_entity == "Invoice":
        found = _existing_invoices(qb, pairs) if todo else {}
    else:
        found = _existing_payments(qb, pairs, min(row.created_at for row, *_ in todo)) if todo else {}
    writes: list[Write] = []
    rejected: list[tuple[OutboxRow, str]] = []
    for row, invoice, customer_ref, invoice_ref in todo:
        existing = found.get(invoice.stripe_id)
        if existing is not None:
            finished.append((row, existing["Id"], "found_by_stripe_note"))
            continue
        try:
            body = (invoice_to_quickbooks(invoice, customer_ref, qb.service_item_ref()) if qb_entity == "Invoice"
                    else payment_to_quickbooks(invoice, invoice_ref, customer_ref))
        except MappingError as exc:
            rejected.append((row, f"cannot map for QuickBooks: {exc}"))
            continue
        writes.append(Write(row, qb_entity, "create", body))
    counts.adopted += sum(reason is not None for _, _, reason in finished)
    hub.finish_writes(finished)
    _remember(links, finished)
    _remember(links, _send(hub, qb, writes, rejected, counts, batch_size, "created_by_concord"))


def push_invoices(hub: Hub, qb: QuickBooksConnector, progress: Progress | None = None,
                  batch_size: int = DEFAULT_BATCH_SIZE) -> PushCounts:
    """Push invoices first, then the payments that apply to them, then updates of changed invoices."""
    counts = PushCounts(planned=plan_invoices(hub))
    links = {entity: hub.links(entity, SYSTEM) for entity in ("customer", "invoice", "payment")}
    for entity in ("invoice", "payment"):
        rows = _create_rows(hub, entity)
        for done, chunk in enumerate(chunks(rows, MAX_BATCH_ITEMS), start=1):
            _push_invoice_chunk(hub, qb, chunk, counts, batch_size, links)
            if progress:
                progress(f"{entity}s: {min(done * MAX_BATCH_ITEMS, len(rows))}/{len(rows)} pushed to QuickBooks")
    counts.planned += plan_invoice_updates(hub, qb)
    _push_updates(hub, qb, "invoice", "Invoice", _invoice_body(hub, qb), counts, batch_size)
    return counts


def _invoice_body(hub: Hub, qb: QuickBooksConnector) -> Callable[[dict], dict]:
    customer_links = hub.links("customer", SYSTEM)

    def body(record: dict) -> dict:
        return invoice_to_quickbooks(Invoice.from_dict(record), customer_links[record["customer_stripe_id"]],
                                     qb.service_item_ref())

    return body


def plan_invoice_updates(hub: Hub, qb: QuickBooksConnector) -> int:
    """Queue a sparse update for every linked invoice whose owned fields changed since Concord wrote it."""
    customer_links = hub.links("customer", SYSTEM)
    records = [invoice.as_dict() for invoice in _synced_invoices(hub) if invoice.customer_stripe_id in customer_links]
    return plan_updates(hub, qb, SYSTEM, "invoice", "Invoice", records, lambda record: record["stripe_id"],
                        _invoice_body(hub, qb))


# ---- updates -----------------------------------------------------------------------------------


def _push_updates(hub: Hub, qb: QuickBooksConnector, entity: str, qb_entity: str, body_of, counts: PushCounts,
                  batch_size: int) -> None:
    """Send the newest pending update of each record. Older ones it supersedes (planned from the same last
    written base, so the newest carries their changes too) are never sent: in one batch, QuickBooks may apply
    items in any order, and an older one re-applied after a 5010 would put old values back. They are marked
    done once the newest lands."""
    newest: dict[str, OutboxRow] = {}
    older: dict[int, list[OutboxRow]] = {}
    for row in sorted((row for row in hub.pending(SYSTEM, entity) if row.operation == "update"),
                      key=lambda row: row.id):
        if row.canonical_key in newest:
            superseded = newest[row.canonical_key]
            older[row.id] = older.pop(superseded.id, []) + [superseded]
        newest[row.canonical_key] = row
    for chunk in chunks(list(newest.values()), MAX_BATCH_ITEMS):
        writes, finished, rejected = [], [], []
        for row in chunk:
            try:
                write = update_write(row, qb_entity, body_of)
            except (MappingError, KeyError) as exc:
                rejected.append((row, f"cannot map for QuickBooks: {exc}"))
                continue
            if write is None:
                finished.append((row, row.payload["qb_id"], None))
            else:
                writes.append(write)
        landed = {row.id for row, _, _ in [*finished, *_send(hub, qb, writes, rejected, counts, batch_size, None)]}
        # Marked done after the newest, but latest_done_payloads goes by row id: the newest stays the base.
        hub.finish_writes([(old, old.payload["qb_id"], None) for row_id in landed for old in older.get(row_id, [])])
        hub.finish_writes(finished)
