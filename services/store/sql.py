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
import contextlib
from collections.abc import Collection
from datetime import datetime
from functools import partial
from types import TracebackType
from typing import Any, Self

import polars as pl
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.events import Announcement, Signal
from services.frames import PRICE_SCHEMA, to_us
from services.store import as_of, migrate, outbox, reads, writes
from services.store.alerts import AlertStore
from services.store.batch import StoreBatch, WriteResult
from services.store.batchwrite import Rows, Transactions, write
from services.store.closes import CLOSE_COLUMNS, CloseFinder, closes_query
from services.store.codec import announcement_from_row, signal_from_row
from services.store.columns import value_frame
from services.store.connect import create_engine, is_sqlite_file, sqlite_file_writer
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
    announcements,
    bars_1d,
    bars_1m,
    reaction_revisions,
    reactions_latest,
)
from services.store.types import StoredInterval
from services.store.walcheckpoint import checkpoint_wal

_BARS = {"1m": bars_1m, "1d": bars_1d}


async def open_store(url: str, *, upgrade: bool = True) -> SqlStore:
    """Connect, migrate the schema to this version's (or, with `upgrade=False`, check that it
    is there already), and return the store (close it when done)."""
    engine = create_engine(url, wal_checkpoints_apart=True)
    store = SqlStore(engine, sqlite_file_writer(engine, wal_checkpoints_apart=True))
    try:
        await (migrate.upgrade(store.engine) if upgrade else migrate.check(store.engine))
    except BaseException:
        await store.close()
        raise
    if is_sqlite_file(store.engine):
        store.checkpointing = asyncio.create_task(checkpoint_wal(store.engine), name="wal")
    return store


class SqlStore:
    """Implements `services.store.types.Store`."""

    def __init__(self, engine: AsyncEngine, sqlite_file_writer: Engine | None = None) -> None:
        """`sqlite_file_writer`: a file SQLite database's synchronous engine, on which
        `write_batch` runs its transactions in a thread of their own (`batchwrite`)."""
        self._engine = engine
        self._transactions = Transactions(engine, sqlite_file_writer)
        self._write_lock = asyncio.Lock()
        self.close_finder: CloseFinder | None = None
        """Set (by the app, with the registry's calendars) to keep session closes on write."""
        self.alerts = AlertStore(engine, self._write_lock)
        """Alert subscriptions and their outbox (filled by `write_batch`)."""
        self.checkpointing: asyncio.Task[None] | None = None
        """A file SQLite database's log checkpoints (`open_store`; stopped by `close`)."""

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

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

    async def close(self) -> None:
        if self.checkpointing is not None:
            self.checkpointing.cancel()
            await asyncio.gather(self.checkpointing, return_exceptions=True)
        await self._transactions.close()
        await self._engine.dispose()

    async def ping(self) -> None:
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, SQLAlchemyError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    # -- writes ----------------------------------------------------------------------------------

    async def write_batch(self, batch: StoreBatch) -> WriteResult:
        # one writer per store; across processes the advisory lock (PostgreSQL) or SQLite's own
        # write lock serialise the transactions
        rows = Rows.of(batch, self.close_finder)
        async with self._write_lock:
            result, queued = await self._transactions.run(partial(write, rows=rows))
        self.alerts.queued(queued)
        return result

    async def unpublished(self, *, limit: int) -> list[Signal]:
        async with self._engine.connect() as conn:
            return await outbox.pending(conn, limit=limit)

    async def mark_published(self, cursors: Collection[int]) -> None:
        async with self.beside_writes(), self._engine.begin() as conn:
            await conn.run_sync(outbox.release, cursors)

    def beside_writes(self) -> contextlib.AbstractAsyncContextManager[object]:
        """What a write transaction other than `write_batch` holds: on SQLite (one writer at a
        time) the store's write lock, so writers of this process queue here and start the
        moment the last one ends, instead of retrying in SQLite's busy handler, which sleeps
        up to 100 ms between tries; nothing on PostgreSQL (row locks)."""
        if self.dialect == "postgresql":
            return contextlib.nullcontext()
        return self._write_lock

    # -- bars (tests and audits read the merged bars) ----------------------------------------

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

    async def story(self, story_id: str) -> list[Announcement]:
        """The announcements of one story, first published first."""
        a = announcements.c
        stmt = select(announcements).where(a.story_id == story_id).order_by(a.published_at_us, a.id)
        return [announcement_from_row(r) for r in await self._rows(stmt)]

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

    # -- event studies ---------------------------------------------------------------------------

    async def session_closes(
        self, instruments: Collection[str], *, as_of_us: int | None = None
    ) -> pl.DataFrame:
        """Stored session closes of `instruments` (CLOSES_SCHEMA columns); with `as_of_us`, what
        was known then: sessions over and closes observed by that time."""
        rows = await self._rows(closes_query(instruments, as_of_us))
        schema = {"instrument": pl.String(), "session_close_us": pl.Int64()}
        schema |= {"close": pl.Float64(), "observed_at_us": pl.Int64()}
        return pl.DataFrame(
            [[r[name] for name in CLOSE_COLUMNS] for r in rows], schema=schema, orient="row"
        )

    async def reactions_as_of(
        self, where: ReactionFilter, as_of_us: int, *, after: ReactionKey | None, limit: int
    ) -> list[Signal]:
        """As `list_reactions`, with each reaction's latest revision emitted at or before
        `as_of_us` (from the revision log)."""
        stmt = as_of.reactions_page_as_of(where, as_of_us, after, limit)
        return [signal_from_row(r) for r in await self._rows(stmt)]
