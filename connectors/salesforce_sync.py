"""Write Stripe's catalog and billing to Salesforce through the outbox (the sync rules' Stripe -> Salesforce part).

- Products -> Product2 by Stripe_Product_Id__c; prices -> PricebookEntry by Stripe_Price_Id__c, in the price
  book mappings.salesforce_price_books assigns (custom ones, Pricebook2 by Concord_Key__c, are written first);
- each customer's current subscription -> the billing fields Concord owns on its Account, by
  Stripe_Customer_Id__c (only Accounts that carry it: Salesforce owns account identity, and an upsert of an
  Account nobody made would fail on its missing Name anyway).

Planning (connectors.salesforce_sync_plan) stores one outbox row per record that changed since Concord last
wrote it. Pushing sends the newest pending row of each record, 200 a call through sObject Collections
(connectors.salesforce_collections, allOrNone false), as upserts by external id: a crash between the call
and `finish_writes`, and the rerun, update the record the first call created instead of making a second.
A call Salesforce answers 200 can still fail some records: those rows are marked failed with Salesforce's
codes and messages (after `hub.max_attempts` they go to the dead letters), the others are done.

The standard price rule: every (product, currency) needs its standard price before an entry in a custom
price book. Standard-book rows go first; a custom-book row waits (stays pending, no attempt counted) while
its standard price, or its product or price book, is not in Salesforce yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connectors.outbox_failures import fail_row
from connectors.quickbooks_batch import chunks
from connectors.salesforce import SalesforceConnector
from connectors.salesforce_collections import MAX_PER_CALL, RecordResult
from connectors.salesforce_sync_plan import (
    BILLING,
    BOOK_KEY_FIELD,
    PRICE,
    PRICE_BOOK,
    PRODUCT,
    SYSTEM,
    SalesforcePushCounts,
    desired_billing,
    desired_prices,
    desired_products,
    plan,
)
from mappings.salesforce_billing import AMOUNT_FIELD
from mappings.salesforce_entities import STRIPE_CUSTOMER_FIELD, STRIPE_PRICE_FIELD, STRIPE_PRODUCT_FIELD
from mappings.salesforce_price_books import STANDARD
from store.hub import Hub
from store.records import OutboxRow

log = logging.getLogger("concord.sync.salesforce")

EXAMPLES = 10
Progress = Callable[[str], None]
Ready = list[tuple[OutboxRow, dict[str, Any]]]  # rows about to be sent, with their bodies
Rejected = list[tuple[OutboxRow, str]]


@dataclass(frozen=True)
class Target:
    sobject: str
    key_field: str  # the external id the upsert goes by
    money_fields: tuple[str, ...] = ()  # stored as exact strings in the outbox, sent as Decimals
    links: bool = True  # link the record in the cross-reference (billing rows write the customer's Account)


TARGETS = {
    PRODUCT: Target("Product2", STRIPE_PRODUCT_FIELD),
    PRICE_BOOK: Target("Pricebook2", BOOK_KEY_FIELD),
    PRICE: Target("PricebookEntry", STRIPE_PRICE_FIELD, ("UnitPrice",)),
    BILLING: Target("Account", STRIPE_CUSTOMER_FIELD, (AMOUNT_FIELD,), links=False),
}
# A PricebookEntry takes these only when it is created; Salesforce refuses them in an update.
CREATE_ONLY_ENTRY_FIELDS = ("Product2Id", "Pricebook2Id", "CurrencyIsoCode")


def wire_body(entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """The body sent for an outbox record: money fields back to exact Decimals."""
    money = TARGETS[entity].money_fields
    return {name: Decimal(value) if name in money and value is not None else value for name, value in record.items()}


def _error_text(result: RecordResult) -> tuple[str, str | None]:
    """Salesforce's errors of one record as text, and the first field they name."""
    parts, field = [], None
    for error in result.errors:
        fields = error.get("fields") or []
        field = field or (fields[0] if fields else None)
        parts.append(f"{error.get('statusCode') or error.get('errorCode')}: {error.get('message')}"
                     + (f" (fields: {', '.join(fields)})" if fields else ""))
    return "; ".join(parts), field


class SalesforcePush:
    """One push: the cross-reference is read once and kept current as chunks land."""

    def __init__(self, hub: Hub, sf: SalesforceConnector, progress: Progress | None = None) -> None:
        self.hub, self.sf, self.progress = hub, sf, progress
        self.counts = SalesforcePushCounts()
        self.links = {entity: hub.links(entity, SYSTEM) for entity in (PRODUCT, PRICE_BOOK, PRICE)}
        self._standard_book: str | None = None

    # ---- choosing what to send -----------------------------------------------------------------

    def newest_pending(self, entity: str) -> tuple[list[OutboxRow], dict[int, list[OutboxRow]]]:
        """The newest pending row of each record, and (by its id) the older ones it supersedes: planned from
        the same last-written base, the newest carries their changes too, so they are never sent."""
        newest: dict[str, OutboxRow] = {}
        older: dict[int, list[OutboxRow]] = {}
        for row in sorted(self.hub.pending(SYSTEM, entity), key=lambda row: row.id):
            if row.canonical_key in newest:
                superseded = newest[row.canonical_key]
                older[row.id] = older.pop(superseded.id, []) + [superseded]
            newest[row.canonical_key] = row
        return list(newest.values()), older

    def prepare(self, entity: str, rows: Sequence[OutboxRow]) -> tuple[Ready, Rejected]:
        """Bodies of the rows that can go now; rows that must wait are left out (and counted)."""
        if entity == PRICE:
            return self._prepare_entries(rows)
        return [(row, wire_body(entity, row.payload["record"])) for row in rows], []

    def _standard_book_id(self) -> str:
        if self._standard_book is None:
            self._standard_book = self.sf.standard_pricebook_id()
        return self._standard_book

    def _prepare_entries(self, rows: Sequence[OutboxRow]) -> tuple[Ready, Rejected]:
        todo = []
        for row in rows:
            refs = row.payload["refs"]
            product_id = self.links[PRODUCT].get(refs["product"])
            book_id = self._standard_book_id() if refs["book"] == STANDARD else self.links[PRICE_BOOK].get(refs["book"])
            standard = refs.get("standard_price")
            if product_id is None or book_id is None or (standard and standard not in self.links[PRICE]):
                self.counts.waiting += 1
                log.warning("price %s waits: its product, price book or standard price is not in Salesforce yet",
                            row.canonical_key)
                continue
            todo.append((row, product_id, book_id))
        # An entry that exists (seeded, made by a person, or written by a call whose answer was lost) takes no
        # create-only fields: find them first, one query per chunk.
        keys = [row.canonical_key for row, _, _ in todo]
        found = {entry[STRIPE_PRICE_FIELD]: entry for entry in
                 self.sf.find_records("PricebookEntry", ["Id", STRIPE_PRICE_FIELD], STRIPE_PRICE_FIELD, keys)} \
            if keys else {}
        ready: Ready = []
        for row, product_id, book_id in todo:
            body = wire_body(PRICE, row.payload["record"])
            if row.canonical_key in found:
                body = {name: value for name, value in body.items() if name not in CREATE_ONLY_ENTRY_FIELDS}
            else:
                body.update(Product2Id=product_id, Pricebook2Id=book_id)
            ready.append((row, body))
        return ready, []

    # ---- sending and recording -----------------------------------------------------------------

    def _fail(self, row: OutboxRow, error: str, attempt: int, field: str | None = None) -> None:
        fail_row(self.hub, self.counts, row, error, attempt, log=log, vendor="Salesforce",
                 record=row.payload.get("record"), field=field)

    def send(self, entity: str, ready: Ready, rejected: Rejected) -> dict[int, str]:
        """Count the attempts, send one Collections call per 200, record every outcome. Rows another pusher
        claimed since they were read are left to it. Returns the rows that landed: outbox id -> Salesforce Id."""
        candidates = [row for row, _ in ready] + [row for row, _ in rejected]
        claimed = self.hub.claim_attempts(candidates)
        attempts = {row.id: row.attempts + 1 for row in candidates}
        if len(claimed) < len(candidates):
            log.warning("%d Salesforce row(s) were claimed by another push meanwhile; leaving them to it",
                        len(candidates) - len(claimed))
        for row, error in rejected:
            if row.id in claimed:
                self._fail(row, error, attempts[row.id])
        ready = [(row, body) for row, body in ready if row.id in claimed]
        if not ready:
            return {}
        target = TARGETS[entity]
        outcome = self.sf.upsert_records(target.sobject, target.key_field, [body for _, body in ready])
        done: list[tuple[OutboxRow, str, str | None]] = []
        for (row, _), result in zip(ready, outcome.results, strict=True):
            if not result.success:
                error, field = _error_text(result)
                self._fail(row, error, attempts[row.id], field)
                continue
            done.append((row, result.id, self._link_reason(target, row, result)))
        self.hub.finish_writes(done)
        for row, salesforce_id, reason in done:
            if reason is not None:
                self.links[row.entity][row.canonical_key] = salesforce_id
        return {row.id: salesforce_id for row, salesforce_id, _ in done}

    def _link_reason(self, target: Target, row: OutboxRow, result: RecordResult) -> str | None:
        """Count the write, and say why the record is linked now (None: no new link)."""
        known = self.links.get(row.entity, {}).get(row.canonical_key)
        if len(self.counts.examples) < EXAMPLES:
            self.counts.examples.append(row.canonical_key)
        if result.created:
            self.counts.written += 1
        elif known is None and target.links:
            self.counts.adopted += 1  # there already: seeded, made by a person, or an earlier call's answer lost
        else:
            self.counts.updated += 1
        if not target.links or known == result.id:
            return None
        if known is not None:
            # The external id proves which record it is: the linked one was deleted and this one replaced it.
            log.warning("%s %s moved from Salesforce %s to %s", row.entity, row.canonical_key, known, result.id)
            self.hub.unlink(row.entity, row.canonical_key, SYSTEM)
        return "created_by_concord" if result.created else "found_by_external_id"

    def push(self, entity: str, rows: Sequence[OutboxRow] | None = None,
             older: dict[int, list[OutboxRow]] | None = None) -> None:
        if rows is None:
            rows, older = self.newest_pending(entity)
        for number, chunk in enumerate(chunks(list(rows), MAX_PER_CALL), start=1):
            landed = self.send(entity, *self.prepare(entity, chunk))
            # Marked done after the newest; latest_done_payloads goes by row id, so the newest stays the base.
            self.hub.finish_writes([(old, salesforce_id, None) for row_id, salesforce_id in landed.items()
                                    for old in (older or {}).get(row_id, [])])
            if self.progress:
                self.progress(f"{entity}: {min(number * MAX_PER_CALL, len(rows))}/{len(rows)} sent to Salesforce")


def push_catalog(hub: Hub, sf: SalesforceConnector, progress: Progress | None = None) -> SalesforcePushCounts:
    """Products, then the custom price books, then prices: standard prices first, then custom-book ones."""
    job = SalesforcePush(hub, sf, progress)
    products = desired_products(hub)
    price_books, prices = desired_prices(hub, job.counts)
    for entity, desired in ((PRODUCT, products), (PRICE_BOOK, price_books), (PRICE, prices)):
        job.counts.planned += plan(hub, entity, desired)
    job.push(PRODUCT)
    job.push(PRICE_BOOK)
    rows, older = job.newest_pending(PRICE)
    standard = [row for row in rows if row.payload["refs"]["book"] == STANDARD]
    job.push(PRICE, standard, older)
    job.push(PRICE, [row for row in rows if row.payload["refs"]["book"] != STANDARD], older)
    return job.counts


def push_account_billing(hub: Hub, sf: SalesforceConnector, progress: Progress | None = None) -> SalesforcePushCounts:
    """The billing fields of every customer's Account, from its current Stripe subscription."""
    job = SalesforcePush(hub, sf, progress)
    job.counts.planned += plan(hub, BILLING, desired_billing(hub, job.counts))
    job.push(BILLING)
    return job.counts
