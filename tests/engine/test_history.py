"""An instrument's price history keeps its part of each batch as a slice of the batch's arrays,
taken when the history is read; slices that keep many rows of batches alive are taken early."""

from __future__ import annotations

from datetime import date

import numpy as np

from services.engine import EngineConfig, get_calendar
from services.engine.history import NO_TIME, PriceHistory, PriceStore
from services.engine.rows import Rows

XKRX = get_calendar("XKRX", date(2024, 1, 1), date(2026, 12, 31))
OPEN_US = XKRX.session_open_us(XKRX.session_by_date(date(2025, 7, 7)))


def batch(first: int, n: int) -> Rows:
    """`n` ticks a second apart from second `first` after an open, prices by position."""
    obs = OPEN_US + (first + np.arange(n, dtype=np.int64)) * 1_000_000
    price = 100.0 + np.arange(first, first + n, dtype=np.float64)
    return Rows(obs, price, price, price, price, np.zeros(n, dtype=np.int64))


def test_slices_read_back_as_the_rows_they_name() -> None:
    config = EngineConfig()
    mine, theirs = PriceHistory("A", XKRX, config), PriceHistory("B", XKRX, config)
    first, second = batch(0, 10), batch(10, 10)
    mine.append(first, 0, 4)
    theirs.append(first, 4, 10)
    mine.append(second, 2, 5)
    theirs.append(second)  # a whole batch
    assert mine.watermark_us == int(second.obs_us[4])
    assert theirs.watermark_us == int(second.obs_us[-1])
    assert mine.history().obs_us.tolist() == [*first.obs_us[:4], *second.obs_us[2:5]]
    assert mine.history().close.tolist() == [*first.close[:4], *second.close[2:5]]
    assert theirs.history().obs_us.tolist() == [*first.obs_us[4:], *second.obs_us]


def test_instruments_share_one_store_and_keep_their_own_rows() -> None:
    config = EngineConfig()
    store = PriceStore([XKRX, XKRX, XKRX], config)
    rows = batch(0, 6)
    # a batch of two instruments (sorted by code), then one of the third and the first
    store.append(np.asarray([0, 0, 2, 2, 2, 2]), rows)
    store.append(np.asarray([0, 1]), batch(6, 2))
    assert store.watermark_us.tolist() == [
        int(OPEN_US + 6_000_000),
        int(OPEN_US + 7_000_000),
        int(OPEN_US + 5_000_000),
    ]
    assert PriceHistory("A", XKRX, config, store, 0).history().obs_us.tolist() == [
        *rows.obs_us[:2],
        OPEN_US + 6_000_000,
    ]
    assert store.history(2).close.tolist() == rows.close[2:].tolist()
    store.forget(0)
    assert len(store.history(0)) == 0
    assert store.watermark_us[0] == NO_TIME
    assert store.history(1).obs_us.tolist() == [OPEN_US + 7_000_000]
    assert store.history(2).obs_us.tolist() == rows.obs_us[2:].tolist()


def test_duplicates_across_batches_are_dropped_when_read() -> None:
    history = PriceHistory("A", XKRX, EngineConfig())
    history.append(batch(0, 3))
    history.append(batch(1, 3))  # rows 1 and 2 again
    assert history.history().obs_us.tolist() == batch(0, 4).obs_us.tolist()


def test_an_instrument_past_compact_rows_is_compacted_alone() -> None:
    config = EngineConfig(compact_rows=100)
    store = PriceStore([XKRX, XKRX], config)
    day = 86_400_000_000
    # 60 ticks a week before the current session, then 60 in it, for instrument 1 only
    early = batch(0, 60)
    store.append(np.full(60, 1), early)
    store.append(np.zeros(60, dtype=np.int64), early)
    late = Rows(
        early.obs_us + 7 * day, early.open, early.high, early.low, early.close, early.interval_us
    )
    store.append(np.full(60, 1), late)
    # instrument 1 kept 120 > 100 rows: its older session became 1-minute bars (seconds 0 to
    # 59 after the open: the minute ending at the open and the next one)
    assert len(store.history(1)) == 2 + 60
    assert store.history(1).obs_us[:2].tolist() == [OPEN_US, OPEN_US + 60_000_000]
    assert len(store.history(0)) == 60
