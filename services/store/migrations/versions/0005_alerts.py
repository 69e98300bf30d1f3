"""Webhook alerts: subscriptions and the outbox of their deliveries, written in the revisions'
own transaction.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("filter", sa.Text(), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text()),
        sa.Column("consecutive_dead", sa.Integer(), nullable=False),
        sa.Column("last_errors", sa.Text(), nullable=False),
    )
    op.create_table(
        "alert_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("signal_id", sa.String(400), nullable=False),
        sa.Column("reaction_key", sa.String(400), nullable=False),
        sa.Column("signal_cursor", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("emitted_at_us", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at_us", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("delivered_at_us", sa.BigInteger()),
        sqlite_autoincrement=True,
    )
    pending = sa.text("state = 'pending'")
    op.create_index(
        "ix_alert_outbox_pending",
        "alert_outbox",
        ["subscription_id", "id"],
        sqlite_where=pending,
        postgresql_where=pending,
    )


def downgrade() -> None:
    op.drop_table("alert_outbox")
    op.drop_table("alert_subscriptions")
