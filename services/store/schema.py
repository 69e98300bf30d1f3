"""Tables. Times are integer microseconds since the epoch, UTC (`*_us`): exact, dialect-neutral and
cheap to range-scan. Lists are JSON text; targets and sectors are also link tables for filtering.

Migrations (`services/store/migrations`) build exactly these tables: a change here comes with its
revision there (`tests/store/test_migrate.py` compares the two).

Indexes of the latest table. A page of reactions is sorted by `ReactionKey`; every `by_*` index
yields rows in that order under its equality prefix, so a page stops after `limit` matches instead
of sorting all of them. No index has an equality prefix that is not followed by that order: SQLite
plans without statistics (the store never runs ANALYZE), takes such an index whenever it can, and
would then sort every row under the prefix (that cost 50-150 ms a page at 300,000 reactions).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from services.limits import ID_MAX_CHARS, INSTRUMENT_MAX_CHARS, SECTOR_MAX_CHARS

metadata = MetaData()

# SQLite only aliases the rowid for exactly INTEGER PRIMARY KEY; BIGINT elsewhere
CursorType = BigInteger().with_variant(Integer(), "sqlite")

announcements = Table(
    "announcements",
    metadata,
    Column("id", String(ID_MAX_CHARS), primary_key=True),
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
    Column("details", Text),  # JSON of the optional fields in `DETAIL_FIELDS`, or NULL
    Column("story_id", String(200)),  # the story's first announcement (services/ingest/stories.py)
    Index("ix_announcements_published", "published_at_us", "id"),
    Index("ix_announcements_story", "story_id", "published_at_us", "id"),
    Index("ix_announcements_action_published", "action", "published_at_us", "id"),
)

announcement_targets = Table(
    "announcement_targets",
    metadata,
    Column("announcement_id", String(ID_MAX_CHARS), primary_key=True),
    Column("target", String(2), primary_key=True),
    Index("ix_announcement_targets_target", "target", "announcement_id"),
)

announcement_sectors = Table(
    "announcement_sectors",
    metadata,
    Column("announcement_id", String(ID_MAX_CHARS), primary_key=True),
    Column("sector", String(SECTOR_MAX_CHARS), primary_key=True),
    Index("ix_announcement_sectors_sector", "sector", "announcement_id"),
)


def _bar_table(name: str) -> Table:
    """`first_at_us`/`last_at_us`: the times of the observations that set open/close, so a merge
    keeps the earliest open and the latest close whatever the arrival order."""
    return Table(
        name,
        metadata,
        Column("instrument", String(INSTRUMENT_MAX_CHARS), primary_key=True),
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
        Column("announcement_id", String(ID_MAX_CHARS), nullable=False),
        Column("instrument", String(INSTRUMENT_MAX_CHARS), nullable=False),
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
    # `final` and `z_score` ride along so that those filters are checked before a row is read
    Index(
        "ix_reactions_latest_by_anchor",
        "anchor_at_us",
        "announcement_id",
        "instrument",
        "horizon",
        "final",
        "z_score",
    ),
    Index(
        "ix_reactions_latest_by_instrument",
        "instrument",
        "anchor_at_us",
        "announcement_id",
        "horizon",
        "final",
        "z_score",
    ),
    # also covers statistics (which need a horizon): every filter column of this table and every
    # metric, so they never read the table
    Index(
        "ix_reactions_latest_by_horizon",
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
    ),
)

_LATEST = reactions_latest.c
_OPEN = _LATEST.final == False  # noqa: E712 - SQL, not Python
# the few reactions not final yet: what recovery reloads, and pages of open reactions
Index(
    "ix_reactions_latest_open",
    _LATEST.anchor_at_us,
    _LATEST.announcement_id,
    _LATEST.instrument,
    _LATEST.horizon,
    sqlite_where=_OPEN,
    postgresql_where=_OPEN,
)

RETIRED_INDEXES = (
    "ix_announcements_action",
    "ix_reactions_latest_page",
    "ix_reactions_latest_instrument",
    "ix_reactions_latest_horizon",
    "ix_reactions_latest_final",
)
"""Indexes of earlier versions, replaced by those above; dropped at start-up (some made SQLite
sort every matching row of a page)."""

session_closes = Table(
    "session_closes",
    metadata,
    Column("instrument", String(40), primary_key=True),
    Column("session_close_us", BigInteger, primary_key=True),
    Column("close", Float, nullable=False),
    Column("observed_at_us", BigInteger, nullable=False),
)
"""Each instrument's close of every session (its last price at or before the session's end), kept
for event studies' estimation windows whatever the Kafka retention; a merge keeps the latest
observation, the higher close on a tie (DESIGN §4b)."""
DETAIL_FIELDS = ("supersedes", "extraction", "first_seen_at")
"""Optional announcement fields kept together in `announcements.details` (JSON)."""

# -- intake (services/store/intake.py) ------------------------------------------------------

submissions = Table(
    "announcement_submissions",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("body", Text, nullable=False),  # the announcement as accepted (JSON)
    Column("submitted_at_us", BigInteger, nullable=False),
)

intake_items = Table(
    "intake_items",
    metadata,
    Column("source", String(60), primary_key=True),
    Column("item_id", String(400), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("published_at_us", BigInteger, nullable=False),
    Column("announcement_id", String(200), nullable=False),  # the draft's id
    Column("draft", Text, nullable=False),  # what the extractor filled in (JSON), to complete
    Column("seen_at_us", BigInteger, nullable=False),
    Index("ix_intake_items_status", "status", "published_at_us", "source", "item_id"),
    Index("ix_intake_items_announcement", "announcement_id"),
)

source_positions = Table(
    "source_positions",
    metadata,
    Column("source", String(60), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("seen_ids", Text, nullable=False),  # JSON list of ids handled, newest last, bounded
    Column("updated_at_us", BigInteger, nullable=False),
)
unpublished_revisions = Table(
    "unpublished_revisions",
    metadata,
    Column("cursor", BigInteger, primary_key=True, autoincrement=False),
)
"""The live path's outbox: the cursor of every revision stored but not yet acknowledged on
`market.signals`, written in the revision's own transaction and deleted after the broker's
acknowledgement; what a crash leaves here is published again at start-up."""

# -- engine checkpoints (services/store/checkpoints.py) -------------------------------------

engine_checkpoints = Table(
    "engine_checkpoints",
    metadata,
    Column("group_id", String(200), primary_key=True),
    Column("topic", String(250), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),  # the first record not in the state
    Column("state", LargeBinary, nullable=False),  # services/engine/snapshot.py
    Column("saved_at_us", BigInteger, nullable=False),
)
