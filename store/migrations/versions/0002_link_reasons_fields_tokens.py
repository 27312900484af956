"""Why each cross-reference link exists, which field a dead letter failed on, and OAuth tokens.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("xref") as batch:
        batch.add_column(sa.Column("reason", sa.String(64), nullable=True))
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("field", sa.String(128), nullable=True))
    op.create_table(
        "oauth_tokens",
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system", "account", name="pk_oauth_tokens"),
    )


def downgrade() -> None:
    op.drop_table("oauth_tokens")
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("field")
    with op.batch_alter_table("xref") as batch:
        batch.drop_column("reason")
