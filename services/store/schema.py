"""Tables. Times are integer microseconds since the epoch, UTC (`*_us`): exact, dialect-neutral and
cheap to range-scan. Lists are JSON text; targets and sectors are also link tables for filtering.

The schema is created at start-up (`metadata.create_all`); once it has to evolve in place,
Alembic migrations replace that.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

# SQLite only aliases the rowid for exactly INTEGER PRIMARY KEY; BIGINT elsewhere
CursorType = BigInteger().with_variant(Integer(), "sqlite")

announcements = Table(
    "announcements",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("published_at_us", BigInteger, nullable=False),
    Column("published_at_precision", String(8), nullable=False),
    Column("source", Text),
    Column("issuer", String(2), nullable=False),
    Column("targets", Text, nullable=False),
    Column("sectors", Text, nullable=False),
    Column("action", String(16), nullable=False),
    Column("tariff_rate_pct", Float),
    Column("previous_rate_pct", Float),
    Column("effective_at", String(40)),
    Column("headline", Text, nullable=False),
    Column("url", Text),
    Index("ix_announcements_published", "published_at_us", "id"),
    Index("ix_announcements_action", "action"),
)

announcement_targets = Table(
    "announcement_targets",
    metadata,
    Column("announcement_id", String(200), primary_key=True),
    Column("target", String(2), primary_key=True),
    Index("ix_announcement_targets_target", "target", "announcement_id"),
)

announcement_sectors = Table(
    "announcement_sectors",
    metadata,
    Column("announcement_id", String(200), primary_key=True),
    Column("sector", String(60), primary_key=True),
    Index("ix_announcement_sectors_sector", "sector", "announcement_id"),
)


def _bar_table(name: str) -> Table:
    """`first_at_us`/`last_at_us`: the times of the observations that set open/close, so a merge
    keeps the earliest open and the latest close whatever the arrival order."""
    return Table(
        name,
        metadata,
        Column("instrument", String(40), primary_key=True),
        Column("ts_us", BigInteger, primary_key=True),
        Column("open", Float, nullable=False),
        Column("high", Float, nullable=False),
        Column("low", Float, nullable=False),
        Column("close", Float, nullable=False),
        Column("volume", Float),
        Column("first_at_us", BigInteger, nullable=False),
        Column("last_at_us", BigInteger, nullable=False),
    )


bars_1m = _bar_table("price_bars_1m")
bars_1d = _bar_table("price_bars_1d")


def _reaction_columns() -> list[Column[object]]:
    """The Signal contract's fields as columns (shared by the latest table and the log)."""
    return [
        Column("signal_id", String(400), nullable=False),
        Column("announcement_id", String(200), nullable=False),
        Column("instrument", String(40), nullable=False),
        Column("horizon", String(16), nullable=False),
        Column("revision", Integer, nullable=False),
        Column("final", Boolean, nullable=False),
        Column("corrected", Boolean, nullable=False),
        Column("anchor_at_us", BigInteger, nullable=False),
        Column("base_price", Float, nullable=False),
        Column("base_at_us", BigInteger, nullable=False),
        Column("last_price", Float, nullable=False),
        Column("last_at_us", BigInteger, nullable=False),
        Column("return_pct", Float, nullable=False),
        Column("max_rise_pct", Float, nullable=False),
        Column("max_fall_pct", Float, nullable=False),
        Column("peak_at_us", BigInteger, nullable=False),
        Column("time_to_peak_s", Float, nullable=False),
        Column("gap_pct", Float),
        Column("baseline_mean_pct", Float),
        Column("baseline_std_pct", Float),
        Column("z_score", Float),
        Column("abnormal_return_pct", Float),
        Column("significant", Boolean),
        Column("direction", String(4), nullable=False),
        Column("confounders", Text, nullable=False),
        Column("data_granularity", String(4), nullable=False),
        Column("emitted_at_us", BigInteger, nullable=False),
    ]


reaction_revisions = Table(
    "reaction_revisions",
    metadata,
    Column("cursor", CursorType, primary_key=True, autoincrement=True),
    *_reaction_columns(),
    Index("ux_reaction_revisions_signal", "signal_id", unique=True),
    Index("ix_reaction_revisions_key", "announcement_id", "instrument", "horizon", "revision"),
    sqlite_autoincrement=True,  # never reuse a cursor, even after the newest row is deleted
)

reactions_latest = Table(
    "reactions_latest",
    metadata,
    *_reaction_columns(),
    Column("cursor", BigInteger, nullable=False),
    PrimaryKeyConstraint("announcement_id", "instrument", "horizon"),
    Index("ix_reactions_latest_page", "anchor_at_us", "announcement_id", "instrument", "horizon"),
    Index("ix_reactions_latest_instrument", "instrument", "horizon", "anchor_at_us"),
    Index("ix_reactions_latest_horizon", "horizon", "anchor_at_us"),
    Index("ix_reactions_latest_final", "final"),
)
