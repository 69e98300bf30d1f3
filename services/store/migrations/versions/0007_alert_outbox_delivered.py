"""Delivered alert rows indexed by age, so the periodic pruning reads only the rows it deletes
instead of scanning the whole outbox.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    delivered = sa.text("state = 'delivered'")
    op.create_index(
        "ix_alert_outbox_delivered",
        "alert_outbox",
        ["delivered_at_us"],
        sqlite_where=delivered,
        postgresql_where=delivered,
    )


def downgrade() -> None:
    op.drop_index("ix_alert_outbox_delivered", table_name="alert_outbox")
