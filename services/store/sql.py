"""The store on SQLAlchemy's async Core: SQLite (embedded default) or PostgreSQL, by URL.

Cursor order is commit order. SQLite serialises writers, so its AUTOINCREMENT rowid is enough.
PostgreSQL hands out sequence values at insert time, not at commit, so two concurrent writers could
commit cursor 11 before 10 and a reader resuming at 11 would miss 10 for good. Every write
transaction that appends revisions therefore first takes one transaction-scoped advisory lock
(`pg_advisory_xact_lock`), which serialises the appenders of all processes sharing the database;
writes are batched, so the lock is taken once per engine batch. Readers never take it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import polars as pl
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.events import Announcement, Signal
from services.frames import PRICE_SCHEMA
from services.store import outbox, reads, writes
from services.store.alerts import AlertStore
from services.store.batch import StoreBatch, WriteResult
from services.store.codec import announcement_from_row, signal_from_row, to_us
from services.store.columns import value_frame
from services.store.connect import create_engine
from services.store.exceptions import StoreUnavailable
from services.store.filters import (
    AnnouncementFilter,
    AnnouncementKey,
    GroupBy,
    Metric,
    ReactionFilter,
    ReactionKey,
)
from services.store.schema import (
    RETIRED_INDEXES,
    announcements,
    bars_1d,
    bars_1m,
    metadata,
    reaction_revisions,
    reactions_latest,
)
from services.store.types import StoredInterval

_CURSOR_LOCK_KEY = 0x4D52_4355  # "MRCU": the advisory lock that orders revision cursors
_CURSOR_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_BARS = {"1m": bars_1m, "1d": bars_1d}


async def open_store(url: str) -> SqlStore:
    """Connect, create the schema if missing, and return the store (close it when done)."""
    store = SqlStore(create_engine(url))
    try:
        await store.create_schema()
    except BaseException:
        await store.close()
        raise
    return store


def _create_tables_and_indexes(conn: Connection) -> None:
    metadata.create_all(conn)
    # create_all skips the indexes of a table that exists already
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)


class SqlStore:
    """Implements `services.store.types.Store`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._write_lock = asyncio.Lock()
        self.alerts = AlertStore(engine, self._write_lock)
        """Alert subscriptions and their outbox (filled by `write_batch`)."""

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def create_schema(self) -> None:
        async with self._engine.begin() as conn:
            if self.dialect == "postgresql":
                # concurrent start-ups must not race each other's CREATE TABLE
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CURSOR_LOCK_KEY}
                )
            for name in RETIRED_INDEXES:
                await conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
            await conn.run_sync(_create_tables_and_indexes)

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> None:
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, SQLAlchemyError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    # -- writes ----------------------------------------------------------------------------------

    async def write_batch(self, batch: StoreBatch) -> WriteResult:
        minute, daily, skipped = writes.bar_frames(batch.prices)
        # one writer per store; across processes the advisory lock (PostgreSQL) or SQLite's own
        # write lock serialise the transactions
        async with self._write_lock, self._engine.begin() as conn:
            if batch.signals and self.dialect == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CURSOR_LOCK_KEY}
                )
            added = await writes.write_announcements(conn, batch.announcements)
            bars = await writes.write_bars(conn, bars_1m, minute)
            bars += await writes.write_bars(conn, bars_1d, daily)
            stored = await writes.write_signals(conn, batch.signals)
            queued = await outbox.enqueue(conn, stored)
        if queued:
            self.alerts.written.set()
        return WriteResult(
            announcements_added=added, bars_written=bars, bars_skipped=skipped, signals=stored
        )

    # -- recovery --------------------------------------------------------------------------------

    async def open_reactions(self) -> list[Signal]:
        stmt = (
            select(reactions_latest)
            .where(reactions_latest.c.final == False)  # noqa: E712 - SQL, not Python
            .order_by(reactions_latest.c.cursor)
        )
        return [signal_from_row(r) for r in await self._rows(stmt)]

    async def announcements_since(self, since: datetime) -> list[Announcement]:
        a = announcements.c
        stmt = select(announcements).where(a.published_at_us >= to_us(since))
        stmt = stmt.order_by(a.published_at_us, a.id)
        return [announcement_from_row(r) for r in await self._rows(stmt)]

    async def bars_since(
        self,
        since: datetime,
        *,
        interval: StoredInterval,
        instruments: Collection[str] | None = None,
    ) -> pl.DataFrame:
        table = _BARS[interval]
        stmt = select(table).where(table.c.ts_us >= to_us(since))
        if instruments is not None:
            stmt = stmt.where(table.c.instrument.in_(list(instruments)))
        stmt = stmt.order_by(table.c.ts_us, table.c.instrument)
        frame = self._bar_frame(await self._rows(stmt))
        return frame.select(
            "instrument",
            "ts",
            pl.lit(None, dtype=pl.Float64).alias("price"),
            "open",
            "high",
            "low",
            "close",
            pl.lit(interval).alias("interval"),
            "volume",
        ).cast(PRICE_SCHEMA)  # type: ignore[arg-type]

    # -- history ---------------------------------------------------------------------------------

    async def get_announcement(self, announcement_id: str) -> Announcement | None:
        stmt = select(announcements).where(announcements.c.id == announcement_id)
        rows = await self._rows(stmt)
        return announcement_from_row(rows[0]) if rows else None

    async def list_announcements(
        self, where: AnnouncementFilter, *, after: AnnouncementKey | None, limit: int
    ) -> list[Announcement]:
        stmt = reads.announcements_page(where, after, limit)
        return [announcement_from_row(r) for r in await self._rows(stmt)]

    async def list_reactions(
        self, where: ReactionFilter, *, after: ReactionKey | None, limit: int
    ) -> list[Signal]:
        stmt = reads.reactions_page(where, after, limit)
        return [signal_from_row(r) for r in await self._rows(stmt)]

    async def reactions_of(self, announcement_id: str) -> list[Signal]:
        t = reactions_latest.c
        stmt = select(reactions_latest).where(t.announcement_id == announcement_id)
        stmt = stmt.order_by(t.instrument, t.horizon)
        return [signal_from_row(r) for r in await self._rows(stmt)]

    async def revisions(self, announcement_id: str, instrument: str, horizon: str) -> list[Signal]:
        t = reaction_revisions.c
        stmt = select(reaction_revisions).where(
            t.announcement_id == announcement_id, t.instrument == instrument, t.horizon == horizon
        )
        return [signal_from_row(r) for r in await self._rows(stmt.order_by(t.cursor))]

    async def revisions_after(self, cursor: int, *, limit: int) -> list[Signal]:
        t = reaction_revisions.c
        stmt = select(reaction_revisions).where(t.cursor > cursor).order_by(t.cursor).limit(limit)
        return [signal_from_row(r) for r in await self._rows(stmt)]

    async def reaction_values(
        self, where: ReactionFilter, *, group_by: GroupBy, metric: Metric
    ) -> pl.DataFrame:
        stmt = reads.reaction_values(where, group_by, metric)
        async with self._engine.connect() as conn:
            return await value_frame(conn, stmt)

    async def bars(
        self, instrument: str, start: datetime, end: datetime, *, interval: StoredInterval
    ) -> pl.DataFrame:
        t = _BARS[interval]
        stmt = (
            select(t)
            .where(t.c.instrument == instrument, t.c.ts_us >= to_us(start), t.c.ts_us < to_us(end))
            .order_by(t.c.ts_us)
        )
        return self._bar_frame(await self._rows(stmt)).drop("instrument")

    # -- helpers ---------------------------------------------------------------------------------

    async def _rows(self, stmt: Any) -> list[Any]:
        async with self._engine.connect() as conn:
            result = await conn.execute(stmt)
            return list(result.mappings().all())

    @staticmethod
    def _bar_frame(rows: list[Any]) -> pl.DataFrame:
        schema = writes.STORED_BAR_SCHEMA
        frame = pl.DataFrame(
            [[r[name] for name in schema] for r in rows], schema=schema, orient="row"
        )
        ts = pl.from_epoch("ts_us", time_unit="us").dt.replace_time_zone("UTC").alias("ts")
        return frame.select("instrument", ts, "open", "high", "low", "close", "volume")
