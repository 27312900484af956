"""Canonical customers and invoices: one row per real-world thing, written only when it changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from mappings.canonical import Customer, Invoice
from store.hashing import content_hash
from store.raw import chunked
from store.records import UpsertCounts
from store.schema import canonical_customers, canonical_invoices
from store.timeutil import utcnow


def _customer_columns(customer: Customer) -> dict[str, Any]:
    return {
        "name": customer.name,
        "email": customer.email,
        "currency": customer.currency,
        "salesforce_id": customer.salesforce_id,
        "record": customer.as_dict(),
    }


def _invoice_columns(invoice: Invoice) -> dict[str, Any]:
    return {
        "customer_stripe_id": invoice.customer_stripe_id,
        "number": invoice.number,
        "status": invoice.status,
        "currency": invoice.currency,
        "total_minor": invoice.total.amount_minor,
        "record": invoice.as_dict(),
    }


def _upsert_by_stripe_id(
    conn: sa.Connection, table: sa.Table, items: dict[str, dict[str, Any]]
) -> UpsertCounts:
    """Insert unknown ids, rewrite rows whose record hash changed, skip the rest."""
    inserted = updated = unchanged = 0
    now = utcnow()
    for chunk in chunked(list(items)):
        rows = conn.execute(sa.select(table.c.stripe_id, table.c.record_hash).where(table.c.stripe_id.in_(chunk)))
        stored = {stripe_id: record_hash for stripe_id, record_hash in rows}
        for stripe_id in chunk:
            columns = items[stripe_id]
            digest = content_hash(columns["record"])
            if stripe_id not in stored:
                conn.execute(
                    sa.insert(table).values(stripe_id=stripe_id, record_hash=digest, updated_at=now, **columns)
                )
                inserted += 1
            elif stored[stripe_id] != digest:
                conn.execute(
                    sa.update(table)
                    .where(table.c.stripe_id == stripe_id)
                    .values(record_hash=digest, updated_at=now, **columns)
                )
                updated += 1
            else:
                unchanged += 1
    return UpsertCounts(inserted=inserted, updated=updated, unchanged=unchanged)


def _latest_by_id(records: Iterable, columns: Callable[[Any], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record.stripe_id: columns(record) for record in records}


def upsert_customers(conn: sa.Connection, customers: Iterable[Customer]) -> UpsertCounts:
    return _upsert_by_stripe_id(conn, canonical_customers, _latest_by_id(customers, _customer_columns))


def customers(conn: sa.Connection) -> list[Customer]:
    rows = conn.execute(sa.select(canonical_customers.c.record).order_by(canonical_customers.c.stripe_id))
    return [Customer(**record) for record in rows.scalars()]


def upsert_invoices(conn: sa.Connection, invoices: Iterable[Invoice]) -> UpsertCounts:
    return _upsert_by_stripe_id(conn, canonical_invoices, _latest_by_id(invoices, _invoice_columns))


def invoices(conn: sa.Connection) -> list[Invoice]:
    rows = conn.execute(sa.select(canonical_invoices.c.record).order_by(canonical_invoices.c.stripe_id))
    return [Invoice.from_dict(record) for record in rows.scalars()]


def invoice(conn: sa.Connection, stripe_id: str) -> Invoice | None:
    record = conn.execute(
        sa.select(canonical_invoices.c.record).where(canonical_invoices.c.stripe_id == stripe_id)
    ).scalar_one_or_none()
    return None if record is None else Invoice.from_dict(record)
