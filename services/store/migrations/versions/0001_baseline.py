"""The store as the first release created it with `create_all`: announcements, price bars and
the reaction log with its latest view.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_CURSOR = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _bar_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("instrument", sa.String(40), primary_key=True),
        sa.Column("ts_us", sa.BigInteger(), primary_key=True),
        sa.Column("open", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("volume", sa.Float()),
        sa.Column("first_at_us", sa.BigInteger(), nullable=False),
        sa.Column("last_at_us", sa.BigInteger(), nullable=False),
    ]


def _reaction_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("signal_id", sa.String(400), nullable=False),
        sa.Column("announcement_id", sa.String(200), nullable=False),
        sa.Column("instrument", sa.String(40), nullable=False),
        sa.Column("horizon", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("anchor_at_us", sa.BigInteger(), nullable=False),
        sa.Column("base_price", sa.Float(), nullable=False),
        sa.Column("base_at_us", sa.BigInteger(), nullable=False),
        sa.Column("last_price", sa.Float(), nullable=False),
        sa.Column("last_at_us", sa.BigInteger(), nullable=False),
        sa.Column("return_pct", sa.Float(), nullable=False),
        sa.Column("max_rise_pct", sa.Float(), nullable=False),
        sa.Column("max_fall_pct", sa.Float(), nullable=False),
        sa.Column("peak_at_us", sa.BigInteger(), nullable=False),
        sa.Column("time_to_peak_s", sa.Float(), nullable=False),
        sa.Column("gap_pct", sa.Float()),
        sa.Column("baseline_mean_pct", sa.Float()),
        sa.Column("baseline_std_pct", sa.Float()),
        sa.Column("z_score", sa.Float()),
        sa.Column("abnormal_return_pct", sa.Float()),
        sa.Column("significant", sa.Boolean()),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("confounders", sa.Text(), nullable=False),
        sa.Column("data_granularity", sa.String(4), nullable=False),
        sa.Column("emitted_at_us", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("published_at_us", sa.BigInteger(), nullable=False),
        sa.Column("published_at_precision", sa.String(8), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("issuer", sa.String(2), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("sectors", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("tariff_rate_pct", sa.Float()),
        sa.Column("previous_rate_pct", sa.Float()),
        sa.Column("effective_at", sa.String(40)),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("url", sa.Text()),
    )
    op.create_index("ix_announcements_published", "announcements", ["published_at_us", "id"])
    op.create_index(
        "ix_announcements_action_published", "announcements", ["action", "published_at_us", "id"]
    )
    op.create_table(
        "announcement_targets",
        sa.Column("announcement_id", sa.String(200), primary_key=True),
        sa.Column("target", sa.String(2), primary_key=True),
    )
    op.create_index(
        "ix_announcement_targets_target", "announcement_targets", ["target", "announcement_id"]
    )
    op.create_table(
        "announcement_sectors",
        sa.Column("announcement_id", sa.String(200), primary_key=True),
        sa.Column("sector", sa.String(60), primary_key=True),
    )
    op.create_index(
        "ix_announcement_sectors_sector", "announcement_sectors", ["sector", "announcement_id"]
    )
    op.create_table("price_bars_1m", *_bar_columns())
    op.create_table("price_bars_1d", *_bar_columns())

    op.create_table(
        "reaction_revisions",
        sa.Column("cursor", _CURSOR, primary_key=True, autoincrement=True),
        *_reaction_columns(),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ux_reaction_revisions_signal", "reaction_revisions", ["signal_id"], unique=True
    )
    op.create_index(
        "ix_reaction_revisions_key",
        "reaction_revisions",
        ["announcement_id", "instrument", "horizon", "revision"],
    )
    op.create_table(
        "reactions_latest",
        *_reaction_columns(),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("announcement_id", "instrument", "horizon"),
    )
    key = ["anchor_at_us", "announcement_id", "instrument", "horizon"]
    op.create_index("ix_reactions_latest_by_anchor", "reactions_latest", [*key, "final", "z_score"])
    op.create_index(
        "ix_reactions_latest_by_instrument",
        "reactions_latest",
        ["instrument", "anchor_at_us", "announcement_id", "horizon", "final", "z_score"],
    )
    op.create_index(
        "ix_reactions_latest_by_horizon",
        "reactions_latest",
        [
            "horizon",
            "anchor_at_us",
            "announcement_id",
            "instrument",
            "final",
            "z_score",
            "return_pct",
            "abnormal_return_pct",
            "max_rise_pct",
            "max_fall_pct",
        ],
    )
    not_final = sa.column("final", sa.Boolean()) == sa.false()
    op.create_index(
        "ix_reactions_latest_open",
        "reactions_latest",
        key,
        sqlite_where=not_final,
        postgresql_where=not_final,
    )


def downgrade() -> None:
    for table in (
        "reactions_latest",
        "reaction_revisions",
        "price_bars_1d",
        "price_bars_1m",
        "announcement_sectors",
        "announcement_targets",
        "announcements",
    ):
        op.drop_table(table)
