"""Initial hub schema: raw landing, canonical tables, xref, cursors, outbox, dead letters, mismatches.

Written by hand to mirror store/schema.py; tests compare the migrated database with that metadata
on SQLite and PostgreSQL. No schema is named: tables go wherever the connection's search_path points.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "raw_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _ts("first_seen_at"),
        _ts("landed_at"),
        _ts("deleted_at", nullable=True),
        sa.UniqueConstraint("system", "entity", "external_id", name="uq_raw_records_system_entity_external_id"),
    )
    op.create_table(
        "canonical_customers",
        sa.Column("stripe_id", sa.String(255), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("salesforce_id", sa.String(255), nullable=True),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "canonical_invoices",
        sa.Column("stripe_id", sa.String(255), primary_key=True),
        sa.Column("customer_stripe_id", sa.String(255), nullable=False),
        sa.Column("number", sa.String(255), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        _ts("updated_at"),
    )
    op.create_index("ix_canonical_invoices_customer_stripe_id", "canonical_invoices", ["customer_stripe_id"])
    op.create_table(
        "xref",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("canonical_key", sa.String(255), nullable=False),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        _ts("linked_at"),
        sa.UniqueConstraint("entity", "canonical_key", "system", name="uq_xref_entity_canonical_key_system"),
        sa.UniqueConstraint("entity", "system", "external_id", name="uq_xref_entity_system_external_id"),
    )
    op.create_table(
        "sync_cursors",
        sa.Column("stream", sa.String(128), primary_key=True),
        sa.Column("cursor_ts", sa.BigInteger, nullable=False),
        sa.Column("cursor_id", sa.String(255), nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("canonical_key", sa.String(255), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name="ck_outbox_status"),
    )
    op.create_index("ix_outbox_status_system_entity", "outbox", ["status", "system", "entity"])
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON, nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        _ts("first_seen_at"),
        _ts("last_seen_at"),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.UniqueConstraint("system", "entity", "external_id", "reason", name="uq_dead_letters_record_reason"),
    )
    op.create_table(
        "mismatches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("canonical_key", sa.String(255), nullable=False),
        sa.Column("field", sa.String(128), nullable=True),
        sa.Column("ids", sa.JSON, nullable=False),
        sa.Column("expected", sa.Text, nullable=True),
        sa.Column("actual", sa.Text, nullable=True),
        _ts("detected_at"),
        _ts("resolved_at", nullable=True),
        _ts("alerted_at", nullable=True),
    )
    op.create_index("ix_mismatches_entity_resolved_at", "mismatches", ["entity", "resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_mismatches_entity_resolved_at", table_name="mismatches")
    op.drop_table("mismatches")
    op.drop_table("dead_letters")
    op.drop_index("ix_outbox_status_system_entity", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("sync_cursors")
    op.drop_table("xref")
    op.drop_index("ix_canonical_invoices_customer_stripe_id", table_name="canonical_invoices")
    op.drop_table("canonical_invoices")
    op.drop_table("canonical_customers")
    op.drop_table("raw_records")
