"""The hub database behind one object: each method is one transaction.

The functions it calls (store.raw, store.outbox, ...) take a Connection, so a caller that needs
several steps in one transaction (land raw records and move the cursor together) can use
`with hub.transaction() as conn:` and call them directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mappings.canonical import Customer, Invoice, Mismatch
from store import canonical_store, cursors, dead_letters, mismatches, outbox, raw, tokens, xref
from store.db import create_hub_engine, default_database_url
from store.migrate import upgrade
from store.records import DeadLetter, LandCounts, MismatchDelta, MismatchRow, OutboxRow, StoredToken, UpsertCounts


class Hub:
    """The hub store. `Hub(url)` owns its engine; `Hub.from_engine(engine)` borrows one."""

    def __init__(self, url: str | None = None, *, max_attempts: int = outbox.DEFAULT_MAX_ATTEMPTS) -> None:
        self.engine: sa.Engine = create_hub_engine(url or default_database_url())
        self.max_attempts = max_attempts

    @classmethod
    def from_engine(cls, engine: sa.Engine, *, max_attempts: int = outbox.DEFAULT_MAX_ATTEMPTS) -> Hub:
        hub = cls.__new__(cls)
        hub.engine = engine
        hub.max_attempts = max_attempts
        return hub

    def migrate(self) -> None:
        """Bring the database to the latest schema (a no-op when it already is)."""
        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    # raw landing

    def land_raw(
        self, system: str, entity: str, records: Iterable[tuple[str, dict]], complete: bool = False
    ) -> LandCounts:
        with self.transaction() as conn:
            return raw.land_raw(conn, system, entity, records, complete=complete)

    def mark_deleted(self, system: str, entity: str, external_ids: Iterable[str]) -> int:
        with self.transaction() as conn:
            return raw.mark_deleted(conn, system, entity, external_ids)

    def raw_payloads(self, system: str, entity: str) -> list[tuple[str, dict]]:
        with self.transaction() as conn:
            return raw.raw_payloads(conn, system, entity)

    def payloads_of(self, system: str, entity: str, external_ids: Iterable[str]) -> dict[str, dict]:
        """The landed payloads of these records, deleted ones included (their last state)."""
        with self.transaction() as conn:
            return raw.payloads_of(conn, system, entity, external_ids)

    def raw_version(self, system: str, entity: str, external_id: str) -> int | None:
        with self.transaction() as conn:
            return raw.raw_version(conn, system, entity, external_id)

    # canonical records

    def upsert_customers(self, customers: Iterable[Customer]) -> UpsertCounts:
        with self.transaction() as conn:
            return canonical_store.upsert_customers(conn, customers)

    def customers(self) -> list[Customer]:
        with self.transaction() as conn:
            return canonical_store.customers(conn)

    def upsert_invoices(self, invoices: Iterable[Invoice]) -> UpsertCounts:
        with self.transaction() as conn:
            return canonical_store.upsert_invoices(conn, invoices)

    def invoices(self) -> list[Invoice]:
        with self.transaction() as conn:
            return canonical_store.invoices(conn)

    def invoice(self, stripe_id: str) -> Invoice | None:
        with self.transaction() as conn:
            return canonical_store.invoice(conn, stripe_id)

    # cross-reference

    def link(self, entity: str, canonical_key: str, system: str, external_id: str, reason: str | None = None) -> None:
        """Link a canonical record to its id in `system`; `reason` says why (kept for audit)."""
        with self.transaction() as conn:
            xref.link(conn, entity, canonical_key, system, external_id, reason)

    def link_reason(self, entity: str, canonical_key: str, system: str) -> str | None:
        with self.transaction() as conn:
            return xref.link_reason(conn, entity, canonical_key, system)

    def unlink(self, entity: str, canonical_key: str, system: str) -> None:
        with self.transaction() as conn:
            xref.unlink(conn, entity, canonical_key, system)

    def lookup(self, entity: str, canonical_key: str, system: str) -> str | None:
        with self.transaction() as conn:
            return xref.lookup(conn, entity, canonical_key, system)

    def reverse_lookup(self, entity: str, system: str, external_id: str) -> str | None:
        with self.transaction() as conn:
            return xref.reverse_lookup(conn, entity, system, external_id)

    def links(self, entity: str, system: str) -> dict[str, str]:
        with self.transaction() as conn:
            return xref.links(conn, entity, system)

    # cursors

    def get_cursor(self, stream: str) -> tuple[int, str] | None:
        with self.transaction() as conn:
            return cursors.get_cursor(conn, stream)

    def set_cursor(self, stream: str, ts: int, id: str) -> None:
        with self.transaction() as conn:
            cursors.set_cursor(conn, stream, ts, id)

    # entities to reconcile (a source's cursor outran the vendor's change log: changes may have been missed)

    def flag_for_reconciliation(self, system: str, entity: str, reason: str) -> None:
        with self.transaction() as conn:
            cursors.flag_for_reconciliation(conn, system, entity, reason)

    def reconciliation_flags(self) -> list[tuple[str, str, int, str]]:
        """(system, entity, flagged at in Unix seconds, reason) of every entity flagged, oldest first."""
        with self.transaction() as conn:
            return cursors.reconciliation_flags(conn)

    def clear_reconciliation_flag(self, system: str, entity: str) -> int:
        """For reconciliation, once it has compared the entity."""
        with self.transaction() as conn:
            return cursors.clear_reconciliation_flag(conn, system, entity)

    # outbox

    def enqueue(
        self,
        system: str,
        entity: str,
        operation: str,
        canonical_key: str,
        idempotency_key: str,
        payload: dict[str, Any],
    ) -> OutboxRow:
        """The row for this idempotency key: newly stored as pending, or the existing one unchanged."""
        existing = self.outbox_row(idempotency_key)
        if existing is not None:
            return existing
        try:
            with self.transaction() as conn:
                return outbox.insert_outbox_row(
                    conn, system, entity, operation, canonical_key, idempotency_key, payload
                )
        except sa.exc.IntegrityError:
            # Another worker stored the same key between our read and our insert: use its row.
            row = self.outbox_row(idempotency_key)
            if row is None:
                raise
            return row

    def enqueue_many(self, rows: list[tuple[str, str, str, str, str, dict[str, Any]]]) -> int:
        """enqueue for many (system, entity, operation, canonical_key, idempotency_key, payload) in one
        transaction; rows whose key exists stay unchanged. Returns how many were newly stored."""
        with self.transaction() as conn:
            known = outbox.existing_keys(conn, [row[4] for row in rows])
        fresh = [row for row in rows if row[4] not in known]
        try:
            with self.transaction() as conn:
                outbox.insert_outbox_rows(conn, fresh)
            return len(fresh)
        except sa.exc.IntegrityError:
            # Another worker stored some of these keys meanwhile: go one by one, keeping its rows.
            created = 0
            for row in fresh:
                if self.outbox_row(row[4]) is None:
                    self.enqueue(*row)
                    created += 1
            return created

    def pending(self, system: str | None = None, entity: str | None = None) -> list[OutboxRow]:
        with self.transaction() as conn:
            return outbox.pending(conn, system, entity, self.max_attempts)

    def mark_attempt(self, outbox_id: int) -> None:
        with self.transaction() as conn:
            outbox.mark_attempt(conn, outbox_id)

    def claim_attempts(self, rows: Iterable[OutboxRow]) -> set[int]:
        """Count one attempt on each row about to be sent, in one transaction, unless another pusher counted
        one since these rows were read (that pusher sends them). Returns the ids of the rows to send."""
        with self.transaction() as conn:
            return outbox.claim_attempts(conn, [(row.id, row.attempts) for row in rows])

    def finish_writes(self, done: Iterable[tuple[OutboxRow, str, str | None]]) -> None:
        """For a batch that landed, in one transaction: each (row, external id, link reason) links the row's
        record in the cross-reference (reason None: no new link, e.g. an update) and marks the row done."""
        done = list(done)
        with self.transaction() as conn:
            xref.link_many(conn, [(row.entity, row.canonical_key, row.system, external_id, reason)
                                  for row, external_id, reason in done if reason is not None])
            outbox.mark_done_many(conn, [(row.id, external_id) for row, external_id, _ in done])

    def latest_done_payloads(self, system: str, entity: str) -> dict[str, dict[str, Any]]:
        with self.transaction() as conn:
            return outbox.latest_done_payloads(conn, system, entity)

    def mark_done(self, outbox_id: int, external_id: str | None) -> None:
        with self.transaction() as conn:
            outbox.mark_done(conn, outbox_id, external_id)

    def mark_failed(self, outbox_id: int, error: str) -> None:
        with self.transaction() as conn:
            outbox.mark_failed(conn, outbox_id, error)

    def outbox_row(self, idempotency_key: str) -> OutboxRow | None:
        with self.transaction() as conn:
            return outbox.outbox_row(conn, idempotency_key)

    def outbox_counts(self) -> dict[str, int]:
        with self.transaction() as conn:
            return outbox.outbox_counts(conn)

    def done_by_system(self) -> dict[str, int]:
        """Writes done per target system."""
        with self.transaction() as conn:
            return outbox.done_by_system(conn)

    def unplanned_raw(self, source_system: str, source_entity: str, system: str, entity: str
                      ) -> list[tuple[str, dict[str, Any]]]:
        """Landed (external id, payload) of a source stream with no (system, entity) outbox row keyed by the id."""
        with self.transaction() as conn:
            return outbox.unplanned_raw(conn, source_system, source_entity, system, entity)

    def give_up(self, outbox_id: int, error: str) -> None:
        """Fail a row for good: the vendor refused it for a reason a resend cannot fix."""
        with self.transaction() as conn:
            outbox.give_up(conn, outbox_id, error, self.max_attempts)

    # dead letters

    def dead_letter(
        self, system: str, entity: str, external_id: str, reason: str, payload: Any, run_id: str | None = None,
        field: str | None = None,
    ) -> None:
        """Record (or count again) a record that could not be processed; secrets are scrubbed first.
        `field` names the field that failed, when the mapping knows it."""
        args = (system, entity, str(external_id), dead_letters.clean_reason(reason),
                dead_letters.safe_payload(payload), run_id, field)
        with self.transaction() as conn:
            if dead_letters.bump_dead_letter(conn, *args):
                return
        try:
            with self.transaction() as conn:
                dead_letters.insert_dead_letter(conn, *args)
        except sa.exc.IntegrityError:
            # A concurrent writer inserted it first: count ours on top.
            with self.transaction() as conn:
                dead_letters.bump_dead_letter(conn, *args)

    def dead_letters(self, system: str | None = None, entity: str | None = None) -> list[DeadLetter]:
        with self.transaction() as conn:
            return dead_letters.list_dead_letters(conn, system, entity)

    # OAuth tokens (vendors that rotate refresh tokens)

    def token(self, system: str, account: str) -> StoredToken | None:
        with self.transaction() as conn:
            return tokens.get_token(conn, system, account)

    def save_token(self, system: str, account: str, access_token: str, refresh_token: str, expires_at: datetime,
                   expected_version: int | None) -> bool:
        """Store a new token pair if nobody rotated since `expected_version` (None: first save)."""
        with self.transaction() as conn:
            return tokens.save_token(conn, system, account, access_token, refresh_token, expires_at, expected_version)

    def clear_dead_letter(self, system: str, entity: str, external_id: str) -> int:
        with self.transaction() as conn:
            return dead_letters.clear_dead_letter(conn, system, entity, str(external_id))

    # mismatches

    def replace_mismatches(self, entity: str, run_id: str, found: list[Mismatch]) -> MismatchDelta:
        with self.transaction() as conn:
            return mismatches.replace_mismatches(conn, entity, run_id, found)

    def open_mismatches(self, entity: str | None = None) -> list[MismatchRow]:
        with self.transaction() as conn:
            return mismatches.open_mismatches(conn, entity)

    def unalerted_mismatches(self) -> list[MismatchRow]:
        with self.transaction() as conn:
            return mismatches.unalerted_mismatches(conn)

    def mark_alerted(self, ids: list[int]) -> None:
        with self.transaction() as conn:
            mismatches.mark_alerted(conn, ids)
