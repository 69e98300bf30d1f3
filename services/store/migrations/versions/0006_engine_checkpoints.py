"""Engine checkpoints: per consumer group and partition of `market.prices`, the engine state of
that partition's instruments and the offset it covers, so an assignment reads from there.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_checkpoints",
        sa.Column("group_id", sa.String(200), primary_key=True),
        sa.Column("topic", sa.String(250), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("saved_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("engine_checkpoints")
