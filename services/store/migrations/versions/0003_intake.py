"""Intake: the optional announcement fields (`details` JSON, `story_id` of its story), the
announcements accepted by the write API, source items kept for a person, and each source's
position.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("announcements", sa.Column("details", sa.Text()))
    op.add_column("announcements", sa.Column("story_id", sa.String(200)))
    op.create_index(
        "ix_announcements_story", "announcements", ["story_id", "published_at_us", "id"]
    )
    op.create_table(
        "announcement_submissions",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("submitted_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "intake_items",
        sa.Column("source", sa.String(60), primary_key=True),
        sa.Column("item_id", sa.String(400), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("published_at_us", sa.BigInteger(), nullable=False),
        sa.Column("announcement_id", sa.String(200), nullable=False),
        sa.Column("draft", sa.Text(), nullable=False),
        sa.Column("seen_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_intake_items_status",
        "intake_items",
        ["status", "published_at_us", "source", "item_id"],
    )
    op.create_index("ix_intake_items_announcement", "intake_items", ["announcement_id"])
    op.create_table(
        "source_positions",
        sa.Column("source", sa.String(60), primary_key=True),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("seen_ids", sa.Text(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("source_positions")
    op.drop_table("intake_items")
    op.drop_table("announcement_submissions")
    op.drop_index("ix_announcements_story", table_name="announcements")
    with op.batch_alter_table("announcements") as batch:  # SQLite rebuilds the table
        batch.drop_column("story_id")
        batch.drop_column("details")
