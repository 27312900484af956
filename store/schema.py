"""The hub database tables, as SQLAlchemy Core. Migration 0001 mirrors this file exactly.

Constraint and index names are spelled out so that SQLite and PostgreSQL reflect the same names
and Alembic's comparison in the tests sees no drift. Money is BigInteger minor units; timestamps
are timezone-aware (UTC); documents are sa.JSON, which both backends support.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

SYSTEM = 32  # "stripe", "salesforce", "quickbooks", "internal"
ENTITY = 64
EXTERNAL_ID = 255
HASH = 64  # sha256 hex

OUTBOX_STATUSES = ("pending", "done", "failed")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


raw_records = sa.Table(
    "raw_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("system", sa.String(SYSTEM), nullable=False),
    sa.Column("entity", sa.String(ENTITY), nullable=False),
    sa.Column("external_id", sa.String(EXTERNAL_ID), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("payload_hash", sa.String(HASH), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    _ts("first_seen_at"),
    _ts("landed_at"),
    # Set when a complete read of the stream no longer returns the record (deleted at the source).
    _ts("deleted_at", nullable=True),
    sa.UniqueConstraint("system", "entity", "external_id", name="uq_raw_records_system_entity_external_id"),
)

canonical_customers = sa.Table(
    "canonical_customers",
    metadata,
    sa.Column("stripe_id", sa.String(EXTERNAL_ID), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("salesforce_id", sa.String(EXTERNAL_ID), nullable=True),
    sa.Column("record", sa.JSON, nullable=False),
    sa.Column("record_hash", sa.String(HASH), nullable=False),
    _ts("updated_at"),
)

canonical_invoices = sa.Table(
    "canonical_invoices",
    metadata,
    sa.Column("stripe_id", sa.String(EXTERNAL_ID), primary_key=True),
    sa.Column("customer_stripe_id", sa.String(EXTERNAL_ID), nullable=False),
    sa.Column("number", sa.String(EXTERNAL_ID), nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("total_minor", sa.BigInteger, nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
    sa.Column("record_hash", sa.String(HASH), nullable=False),
    _ts("updated_at"),
    sa.Index("ix_canonical_invoices_customer_stripe_id", "customer_stripe_id"),
)

xref = sa.Table(
    "xref",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(ENTITY), nullable=False),
    sa.Column("canonical_key", sa.String(EXTERNAL_ID), nullable=False),
    sa.Column("system", sa.String(SYSTEM), nullable=False),
    sa.Column("external_id", sa.String(EXTERNAL_ID), nullable=False),
    _ts("linked_at"),
    # Why the link was made (e.g. salesforce_id_in_stripe_metadata, created_by_concord, email_fallback).
    sa.Column("reason", sa.String(64), nullable=True),
    # One id per system for each canonical thing, and one canonical thing per vendor id.
    sa.UniqueConstraint("entity", "canonical_key", "system", name="uq_xref_entity_canonical_key_system"),
    sa.UniqueConstraint("entity", "system", "external_id", name="uq_xref_entity_system_external_id"),
)

sync_cursors = sa.Table(
    "sync_cursors",
    metadata,
    sa.Column("stream", sa.String(128), primary_key=True),
    sa.Column("cursor_ts", sa.BigInteger, nullable=False),  # vendor epoch seconds (or ms): an int
    sa.Column("cursor_id", sa.String(EXTERNAL_ID), nullable=False),  # tie-breaker within one timestamp
    _ts("updated_at"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("system", sa.String(SYSTEM), nullable=False),
    sa.Column("entity", sa.String(ENTITY), nullable=False),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("canonical_key", sa.String(EXTERNAL_ID), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("external_id", sa.String(EXTERNAL_ID), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name="ck_outbox_status"),
    sa.Index("ix_outbox_status_system_entity", "status", "system", "entity"),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("system", sa.String(SYSTEM), nullable=False),
    sa.Column("entity", sa.String(ENTITY), nullable=False),
    sa.Column("external_id", sa.String(EXTERNAL_ID), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=True),
    sa.Column("run_id", sa.String(64), nullable=True),
    _ts("first_seen_at"),
    _ts("last_seen_at"),
    sa.Column("occurrences", sa.Integer, nullable=False),
    sa.Column("field", sa.String(128), nullable=True),  # the field that failed, when known
    # A record retried with the same failure bumps `occurrences` instead of adding a row.
    sa.UniqueConstraint("system", "entity", "external_id", "reason", name="uq_dead_letters_record_reason"),
)

# OAuth tokens of vendors that rotate refresh tokens (QuickBooks): the old refresh token stops
# working the moment a new one is issued, so the new pair must be stored atomically, and `version`
# lets two refreshers race safely (the loser re-reads instead of overwriting).
oauth_tokens = sa.Table(
    "oauth_tokens",
    metadata,
    sa.Column("system", sa.String(SYSTEM), nullable=False),
    sa.Column("account", sa.String(EXTERNAL_ID), nullable=False),
    sa.Column("access_token", sa.Text, nullable=False),
    sa.Column("refresh_token", sa.Text, nullable=False),
    _ts("expires_at"),
    sa.Column("version", sa.Integer, nullable=False),
    _ts("rotated_at"),
    sa.PrimaryKeyConstraint("system", "account", name="pk_oauth_tokens"),
)

mismatches = sa.Table(
    "mismatches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(ENTITY), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("canonical_key", sa.String(EXTERNAL_ID), nullable=False),
    sa.Column("field", sa.String(128), nullable=True),
    sa.Column("ids", sa.JSON, nullable=False),
    sa.Column("expected", sa.Text, nullable=True),
    sa.Column("actual", sa.Text, nullable=True),
    _ts("detected_at"),
    _ts("resolved_at", nullable=True),
    _ts("alerted_at", nullable=True),
    sa.Index("ix_mismatches_entity_resolved_at", "entity", "resolved_at"),
)
