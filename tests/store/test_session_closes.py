"""The store keeps each session's close (its last price at or before the session's end) whatever
the arrival order, from ticks or bars, and answers what was known at a past time."""

from __future__ import annotations

from datetime import datetime

from services.engine import load_registry
from services.frames import prices_frame, to_us
from services.store import SqlStore, StoreBatch
from services.study.closes import SessionCloses
from tests.engine.helpers import kst
from tests.factories import bar, tick

CLOSE_7 = to_us(kst(2025, 7, 7, 15, 30))  # XKRX session close
CLOSE_8 = to_us(kst(2025, 7, 8, 15, 30))


async def _closes(store: SqlStore, as_of: datetime | None = None) -> list[tuple[int, float]]:
    frame = await store.session_closes(["KOSPI"], as_of_us=None if as_of is None else to_us(as_of))
    return list(zip(frame["session_close_us"].to_list(), frame["close"].to_list(), strict=True))


async def test_last_price_of_each_session_whatever_the_order(store: SqlStore) -> None:
    store.close_finder = SessionCloses(load_registry())
    late = [tick("KOSPI", kst(2025, 7, 7, 15, 29), 101.0), tick("KOSPI", kst(2025, 7, 8, 14), 99.0)]
    early = [
        tick("KOSPI", kst(2025, 7, 7, 10), 100.0),
        # after the close: not that session's close, and outside every session
        tick("KOSPI", kst(2025, 7, 7, 16), 150.0),
        tick("KOSPI", kst(2025, 7, 8, 9, 30), 98.0),
    ]
    await store.write_batch(StoreBatch(prices=prices_frame(late)))
    await store.write_batch(StoreBatch(prices=prices_frame(early)))  # older ticks, later
    await store.write_batch(StoreBatch(prices=prices_frame(late)))  # a repeat changes nothing
    assert await _closes(store) == [(CLOSE_7, 101.0), (CLOSE_8, 99.0)]
    # a daily bar for the 8th is observed at its close: it replaces the 14:00 tick
    daily = bar("KOSPI", kst(2025, 7, 8), 98.0, 100.0, 97.0, 99.5, interval="1d")
    await store.write_batch(StoreBatch(prices=prices_frame([daily])))
    assert await _closes(store) == [(CLOSE_7, 101.0), (CLOSE_8, 99.5)]
    # as of the 8th at noon Seoul: the 7th's close was known, the 8th's session not over
    assert await _closes(store, kst(2025, 7, 8, 12)) == [(CLOSE_7, 101.0)]


async def test_without_a_close_finder_nothing_is_kept(store: SqlStore) -> None:
    await store.write_batch(
        StoreBatch(prices=prices_frame([tick("KOSPI", kst(2025, 7, 7, 10), 1.0)]))
    )
    assert await _closes(store) == []
