"""An instrument's price history keeps its part of each batch as a slice of the batch's arrays,
taken when the history is read; slices that keep many rows of batches alive are taken early."""

from __future__ import annotations

from datetime import date

import numpy as np

from services.engine import EngineConfig, get_calendar
from services.engine.history import PriceHistory
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


def test_slices_that_keep_many_batch_rows_alive_are_taken() -> None:
    history = PriceHistory("A", XKRX, EngineConfig(compact_rows=100))
    batches = [batch(40 * k, 40) for k in range(3)]
    history.append(batches[0], 0, 1)
    history.append(batches[1], 0, 1)
    # 80 rows of batches are kept alive for 2 of the instrument's own
    assert sum(isinstance(chunk, tuple) for chunk in history._chunks) == 2
    history.append(batches[2], 0, 1)  # 120 > compact_rows: the slices are taken
    assert not any(isinstance(chunk, tuple) for chunk in history._chunks)
    assert history.history().obs_us.tolist() == [int(b.obs_us[0]) for b in batches]
