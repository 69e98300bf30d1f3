"""The statements of one write transaction, on a synchronous connection: a batch's whole
transaction runs as one call (`services.store.batchwrite`). Every write is an idempotent,
order-independent merge: announcements and revisions insert-or-ignore, bars merge (earliest
open, latest close, extremes), the latest table keeps the highest revision."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    Table,
    any_,
    bindparam,
    case,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from services.events import Announcement, ReactionId, Signal
from services.store.codec import announcement_row, signal_row
from services.store.schema import (
    announcement_sectors,
    announcement_targets,
    announcements,
    reaction_revisions,
    reactions_latest,
)

T = TypeVar("T")

_MINUTE_US = 60_000_000
_DAY_US = 86_400_000_000
_REACTION_KEY = ("announcement_id", "instrument", "horizon")


def _insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT."""
    return _dialect_insert(conn.dialect.name, table)


def _dialect_insert(dialect: str, table: Table) -> Any:
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


def _first_of_each(items: Sequence[T], key: Callable[[T], str]) -> list[T]:
    seen: set[str] = set()
    unique = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            unique.append(item)
    return unique


def write_announcements(conn: Connection, items: Sequence[Announcement]) -> int:
    if not items:
        return 0
    unique = _first_of_each(items, lambda a: a.id)
    stmt = _insert(conn, announcements).on_conflict_do_nothing(index_elements=["id"])
    added = conn.execute(stmt.returning(announcements.c.id), [announcement_row(a) for a in unique])
    new_ids = set(added.scalars().all())
    new = [a for a in unique if a.id in new_ids]
    targets = [{"announcement_id": a.id, "target": t} for a in new for t in set(a.targets)]
    sectors = [{"announcement_id": a.id, "sector": s} for a in new for s in set(a.sectors)]
    for table, rows in ((announcement_targets, targets), (announcement_sectors, sectors)):
        if rows:
            conn.execute(_insert(conn, table).on_conflict_do_nothing(), rows)
    return len(new)


def bar_frames(prices: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(1-minute rows, daily rows, skipped bars) of a `PRICE_SCHEMA` frame, each merged per
    (instrument, ts_us) so a statement never touches a row twice."""
    if prices.height == 0:
        return _NO_BARS, _NO_BARS, 0
    ts_us = pl.col("ts").dt.epoch("us")
    if not prices["price"].has_nulls():  # ticks only, as a live stream's batches are
        return _tick_bars(prices, ts_us), _NO_BARS, 0
    ticks = prices.filter(pl.col("price").is_not_null()).select(_tick_bar(ts_us))
    bars = prices.filter(pl.col("price").is_null())

    def of(interval: str, length_us: int) -> pl.DataFrame:
        return bars.filter(pl.col("interval") == interval).select(
            "instrument",
            ts_us.alias("ts_us"),
            "open",
            "high",
            "low",
            "close",
            "volume",
            ts_us.alias("first_at_us"),
            (ts_us + length_us).alias("last_at_us"),
        )

    minute = _merge(pl.concat([ticks, of("1m", _MINUTE_US)]))
    daily = _merge(of("1d", _DAY_US))
    skipped = bars.filter(~pl.col("interval").is_in(["1m", "1d"])).height
    return minute, daily, skipped


STORED_BAR_SCHEMA: dict[str, pl.DataType] = {
    "instrument": pl.String(),
    "ts_us": pl.Int64(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
}
"""The columns of a stored bar as the tables hold them."""
_BAR_SCHEMA = {
    **STORED_BAR_SCHEMA,
    "first_at_us": pl.Int64(),
    "last_at_us": pl.Int64(),
}


def _tick_bar(ts_us: pl.Expr) -> list[pl.Expr]:
    """A tick as a bar of its minute, open = high = low = close = its price."""
    return [
        pl.col("instrument"),
        (ts_us // _MINUTE_US * _MINUTE_US).alias("ts_us"),
        pl.col("price").alias("open"),
        pl.col("price").alias("high"),
        pl.col("price").alias("low"),
        pl.col("price").alias("close"),
        pl.lit(None, dtype=pl.Float64).alias("volume"),
        ts_us.alias("first_at_us"),
        ts_us.alias("last_at_us"),
    ]


def _tick_bars(ticks: pl.DataFrame, ts_us: pl.Expr) -> pl.DataFrame:
    """`_merge` of the ticks' bars in one query (a small batch pays per query, not per row).
    Of ticks at the same time the first in the batch opens and the first closes, as the
    store's merge keeps them when they come one by one (only an earlier or a later time
    replaces them)."""
    return ticks.group_by("instrument", (ts_us // _MINUTE_US * _MINUTE_US).alias("ts_us")).agg(
        pl.col("price").get(ts_us.arg_min()).alias("open"),
        pl.col("price").max().alias("high"),
        pl.col("price").min().alias("low"),
        pl.col("price").get(ts_us.arg_max()).alias("close"),
        pl.lit(None, pl.Float64).alias("volume"),
        ts_us.min().alias("first_at_us"),
        ts_us.max().alias("last_at_us"),
    )


def _merge(rows: pl.DataFrame) -> pl.DataFrame:
    return (
        rows.sort("instrument", "ts_us", "first_at_us", "last_at_us")
        .group_by("instrument", "ts_us", maintain_order=True)
        .agg(
            pl.col("open").sort_by("first_at_us").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").sort_by("last_at_us").last(),
            pl.col("volume").max(),
            pl.col("first_at_us").min(),
            pl.col("last_at_us").max(),
        )
    )


_NO_BARS = _merge(pl.DataFrame(schema=_BAR_SCHEMA))


def write_bars(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Merge rows of a bar frame (`bar_frames`, as dicts)."""
    if not rows:
        return 0
    conn.execute(_bars_merge(conn.dialect.name, table), list(rows))
    return len(rows)


@cache
def _bars_merge(dialect: str, table: Table) -> Any:
    """Built once per dialect and table: a statement's construction and cache key cost as
    much as a small batch's rows."""
    stmt = _dialect_insert(dialect, table)
    new, old = stmt.excluded, table.c
    earlier, later = new.first_at_us < old.first_at_us, new.last_at_us > old.last_at_us
    return stmt.on_conflict_do_update(
        index_elements=["instrument", "ts_us"],
        set_={
            "open": case((earlier, new.open), else_=old.open),
            "first_at_us": case((earlier, new.first_at_us), else_=old.first_at_us),
            "close": case((later, new.close), else_=old.close),
            "last_at_us": case((later, new.last_at_us), else_=old.last_at_us),
            "high": case((new.high > old.high, new.high), else_=old.high),
            "low": case((new.low < old.low, new.low), else_=old.low),
            "volume": case(
                (old.volume.is_(None), new.volume),
                (new.volume > old.volume, new.volume),
                else_=old.volume,
            ),
        },
    )


def write_signals(conn: Connection, items: Sequence[Signal]) -> list[Signal]:
    """Append new revisions to the log (repeats ignored) and advance the latest table."""
    if not items:
        return []
    unique = _first_of_each(items, lambda s: s.signal_id)
    dialect = conn.dialect.name
    inserted = conn.execute(_revisions_append(dialect), [signal_row(s) for s in unique])
    cursors: dict[str, int] = {row[0]: row[1] for row in inserted.all()}
    stored: list[Signal] = []
    newest: dict[ReactionId, Signal] = {}
    for s in unique:
        cursor = cursors.get(s.signal_id)
        if cursor is None:
            continue
        s = s.model_copy(update={"cursor": cursor})
        stored.append(s)
        key = s.reaction_id
        if key not in newest or s.revision > newest[key].revision:
            newest[key] = s
    if not stored:
        return []
    # copied from the rows just appended, in one statement: a row of parameters per revision
    # cost more than the rows' writing
    conn.execute(_latest_advance(dialect), {"cursors": cursor_list(dialect, newest.values())})
    return sorted(stored, key=lambda s: s.cursor or 0)


def revisions_at(dialect: str) -> ColumnElement[bool]:
    """The revisions whose cursors the parameter `cursors` lists (`cursor_list`)."""
    if dialect == "postgresql":
        return reaction_revisions.c.cursor == any_(bindparam("cursors", type_=ARRAY(BigInteger)))
    value: Select[Any] = select(literal_column("value"))
    listed = value.select_from(func.json_each(bindparam("cursors")))
    return reaction_revisions.c.cursor.in_(listed)


def cursor_list(dialect: str, signals: Iterable[Signal]) -> object:
    """The parameter `cursors` of `revisions_at`: the signals' cursors."""
    cursors = [s.cursor for s in signals if s.cursor is not None]
    return cursors if dialect == "postgresql" else json.dumps(cursors)


@cache
def _revisions_append(dialect: str) -> Any:
    stmt = _dialect_insert(dialect, reaction_revisions)
    stmt = stmt.on_conflict_do_nothing(index_elements=["signal_id"])
    return stmt.returning(reaction_revisions.c.signal_id, reaction_revisions.c.cursor)


@cache
def _latest_advance(dialect: str) -> Any:
    names = [c.name for c in reactions_latest.c]
    newest = select(*(reaction_revisions.c[name] for name in names)).where(revisions_at(dialect))
    latest = _dialect_insert(dialect, reactions_latest).from_select(names, newest)
    return latest.on_conflict_do_update(
        index_elements=list(_REACTION_KEY),
        set_={
            c.name: latest.excluded[c.name]
            for c in reactions_latest.c
            if c.name not in _REACTION_KEY
        },
        where=latest.excluded.revision > reactions_latest.c.revision,
    )
