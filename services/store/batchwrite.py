"""An engine batch's write transaction as ONE call: every statement and the commit.

On aiosqlite each statement is a round trip to the driver's thread, answered through the event
loop: about eight per batch (bars, session closes, revisions, latest, outbox, alert
subscriptions, alerts, commit), each stretched by whatever else holds the CPU. So on a file
SQLite database the whole transaction runs as one function in a thread of its own, on a
synchronous engine over the same file (`connect.sqlite_file_writer`): one hop. PostgreSQL's
driver is async-native: the same function runs in the same transaction through
`AsyncConnection.run_sync`, as it does on an in-memory SQLite database (which a second engine
would not see)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.alerts.types import OutboxItem
from services.store import alert_outbox, outbox, writes
from services.store.batch import StoreBatch, WriteResult
from services.store.closes import CLOSE_COLUMNS, CloseFinder, write_session_closes
from services.store.schema import bars_1d, bars_1m

T = TypeVar("T")

_CURSOR_LOCK_KEY = 0x4D52_4355  # "MRCU": the advisory lock that orders revision cursors
_CURSOR_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


@dataclass(frozen=True, slots=True)
class Rows:
    """A batch's rows as its statements take them: made before the transaction, in the event
    loop's thread, so the writer's thread holds the GIL only for the statements (a frame
    operation there hands it back and forth between the two threads, waiting for it each
    time)."""

    batch: StoreBatch
    minute: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    skipped: int
    session_closes: list[dict[str, Any]]

    @classmethod
    def of(cls, batch: StoreBatch, closes: CloseFinder | None) -> Rows:
        minute, daily, skipped = writes.bar_frames(batch.prices)
        found = closes.of_prices(batch.prices) if closes and batch.prices.height else None
        session_closes = [] if found is None else found.select(*CLOSE_COLUMNS).to_dicts()
        return cls(batch, minute.to_dicts(), daily.to_dicts(), skipped, session_closes)


def write(conn: Connection, rows: Rows) -> tuple[WriteResult, list[OutboxItem]]:
    """The batch's statements in `conn`'s transaction; returns what was written and the alerts
    queued with its new revisions."""
    batch, minute, daily, skipped = rows.batch, rows.minute, rows.daily, rows.skipped
    if batch.signals and conn.dialect.name == "postgresql":
        conn.execute(_CURSOR_LOCK, {"k": _CURSOR_LOCK_KEY})
    added = writes.write_announcements(conn, batch.announcements)
    bars = writes.write_bars(conn, bars_1m, minute) + writes.write_bars(conn, bars_1d, daily)
    stored = writes.write_signals(conn, batch.signals)
    write_session_closes(conn, rows.session_closes)
    outbox.release(conn, batch.released)
    if batch.hold_until_published:
        outbox.hold(conn, stored)
    queued = alert_outbox.enqueue(conn, stored)
    result = WriteResult(
        announcements_added=added, bars_written=bars, bars_skipped=skipped, signals=stored
    )
    return result, queued


class Transactions:
    """Runs a function of a synchronous connection in one transaction, committed when it
    returns (rolled back when it raises)."""

    def __init__(self, engine: AsyncEngine, sqlite_file: Engine | None = None) -> None:
        """`sqlite_file`: the synchronous engine of a file SQLite database, used from one
        thread of its own; without it, `engine` runs the function through `run_sync`."""
        self._engine = engine
        self._sqlite_file = sqlite_file
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="store-writer")

    async def run(self, fn: Callable[[Connection], T]) -> T:
        if self._sqlite_file is None:
            async with self._engine.begin() as conn:
                return await conn.run_sync(fn)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._in_thread, fn)

    def _in_thread(self, fn: Callable[[Connection], T]) -> T:
        assert self._sqlite_file is not None
        with self._sqlite_file.begin() as conn:
            return fn(conn)

    async def close(self) -> None:
        """After the transaction running now (if any): closes the file's connection."""
        if self._sqlite_file is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._thread, self._sqlite_file.dispose
            )
        self._thread.shutdown()
