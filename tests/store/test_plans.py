"""How the store's queries reach the rows: SQLite plans without statistics, so every filter
combination is checked for a plan that reads rows in page order (no sort of all matches) and for
statistics read from one covering index; and a store made by an earlier version gains the current
indexes when it is opened."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Delete, Select, inspect
from sqlalchemy.dialects import sqlite

from services.store import ReactionFilter, SqlStore, reads
from services.store.alert_outbox import delivered_before
from services.store.filters import ReactionKey
from services.store.schema import RETIRED_INDEXES, metadata

FILTERS: dict[str, list[Any]] = {
    "instrument": ["KOSPI"],
    "horizon": ["close"],
    "target": ["KR"],
    "sector": ["steel"],
    "action": ["deal"],
    "final": [True, False],
    "min_abs_z": [2.0],
    "start": [datetime(2025, 1, 1, tzinfo=UTC)],
    "end": [datetime(2026, 1, 1, tzinfo=UTC)],
}


def every_filter() -> list[ReactionFilter]:
    return [
        ReactionFilter(**dict(zip(names, values, strict=True)))
        for r in range(len(FILTERS) + 1)
        for names in itertools.combinations(FILTERS, r)
        for values in itertools.product(*(FILTERS[n] for n in names))
    ]


def plan(db: sqlite3.Connection, stmt: Select[Any] | Delete) -> list[str]:
    compiled = stmt.compile(dialect=sqlite.dialect())
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {compiled}", params)]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_sqlite_plans_pages_in_order_and_stats_from_one_index(
    store: SqlStore, store_url: str
) -> None:
    db = sqlite3.connect(store_url.removeprefix("sqlite+aiosqlite:///"))
    try:
        for where in every_filter():
            for after in (None, ReactionKey(1, "a", "KOSPI", "close")):
                steps = plan(db, reads.reactions_page(where, after, 101))
                assert not [s for s in steps if "TEMP B-TREE" in s], (where, after, steps)
            if where.horizon is None:
                continue
            for group_by in ("action", "sector", "instrument", "target"):
                steps = plan(db, reads.reaction_values(where, group_by, "return_pct"))
                latest = [s for s in steps if "reactions_latest" in s]
                assert latest == [
                    s for s in latest if "COVERING INDEX ix_reactions_latest_by_horizon" in s
                ], (where, group_by, steps)
    finally:
        db.close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_sqlite_prunes_delivered_alerts_through_their_index(
    store: SqlStore, store_url: str
) -> None:
    db = sqlite3.connect(store_url.removeprefix("sqlite+aiosqlite:///"))
    try:
        steps = plan(db, delivered_before(1_700_000_000_000_000))
    finally:
        db.close()
    index = "ix_alert_outbox_delivered"
    assert steps == [f"SEARCH alert_outbox USING INDEX {index} (delivered_at_us<?)"]


def index_names(conn: Connection) -> set[str]:
    found = inspect(conn)
    return {i["name"] or "" for table in metadata.tables for i in found.get_indexes(table)}


CURRENT_INDEXES = {i.name for table in metadata.tables.values() for i in table.indexes}


def test_a_changed_index_gets_a_new_name() -> None:
    """Start-up creates the indexes whose name is missing and never alters one that exists."""
    assert not CURRENT_INDEXES & set(RETIRED_INDEXES)
