"""Session closes for event studies: each instrument's close of every session, kept whatever the
Kafka retention (DESIGN §4b).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_closes",
        sa.Column("instrument", sa.String(40), primary_key=True),
        sa.Column("session_close_us", sa.BigInteger(), primary_key=True),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("observed_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("session_closes")
