"""A batch's write transaction is one call: on a file SQLite database one hop to a thread of its
own, never a round trip to the driver's thread per statement; on every back-end all or nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError

from services.frames import prices_frame
from services.store import ReactionFilter, SqlStore, StoreBatch, open_store
from tests.factories import T0, announcement, signal, tick


@contextmanager
def statement_threads() -> Iterator[list[tuple[str, int]]]:
    """(what, thread id) of every statement and commit of any engine meanwhile."""
    seen: list[tuple[str, int]] = []

    def on_statement(*_: Any) -> None:
        seen.append(("statement", threading.get_ident()))

    def on_commit(*_: Any) -> None:
        seen.append(("commit", threading.get_ident()))

    event.listen(Engine, "before_cursor_execute", on_statement)
    event.listen(Engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", on_statement)
        event.remove(Engine, "commit", on_commit)


def batch(revisions: tuple[int, ...] = (1, 2), released: tuple[int, ...] = ()) -> StoreBatch:
    ticks = [tick("KOSPI", T0, 100.0), tick("KOSPI", T0 + timedelta(seconds=5), 101.0)]
    return StoreBatch(
        announcements=[announcement("a1")],
        prices=prices_frame(ticks),
        signals=[signal("a1", revision=r) for r in revisions],
        hold_until_published=True,
        released=released,
    )


async def test_a_file_databases_batch_is_one_call_in_a_thread_of_its_own(tmp_path: Path) -> None:
    async with await open_store(f"sqlite+aiosqlite:///{tmp_path}/store.db") as store:
        first = await store.write_batch(batch())
        with statement_threads() as seen:
            released = tuple(s.cursor or 0 for s in first.signals)
            await store.write_batch(batch((3, 4), released))

    statements = [thread for what, thread in seen if what == "statement"]
    # announcements, bars, revisions, latest, outbox release and hold, alert subscriptions
    assert len(statements) >= 7
    assert ("commit", statements[0]) in seen
    assert {thread for _, thread in seen} == {statements[0]}
    assert statements[0] != threading.get_ident()  # not the event loop's


class FailingCloses:
    """Session closes the table refuses (no close): the transaction's last statements fail."""

    def of_prices(self, prices: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "instrument": ["KOSPI"],
                "session_close_us": [0],
                "close": pl.Series([None], dtype=pl.Float64),
                "observed_at_us": [0],
            }
        )


async def test_a_failed_write_leaves_nothing_of_its_batch(store: SqlStore) -> None:
    store.close_finder = FailingCloses()
    with pytest.raises(IntegrityError):  # NOT NULL
        await store.write_batch(batch())

    assert await store.list_reactions(ReactionFilter(), after=None, limit=10) == []
    assert await store.unpublished(limit=10) == []
    assert (await store.bars_since(T0, interval="1m")).height == 0
    assert await store.get_announcement("a1") is None
    store.close_finder = None
    stored = await store.write_batch(batch())  # the store is still usable
    assert [s.revision for s in stored.signals] == [1, 2]
