"""Folding batches of many instruments into window aggregates gives, batch after batch, what
DESIGN §4 defines over every row seen so far, whichever way each window is placed among a
batch's rows (waiting for its anchor, holding them all, ended before them, or cut or ended
among them), late rows and ties included. And a book finds the retired finals that hold a
time as it grows, is replaced, or is asked about a time after every one of them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine.batch import BatchRows, accept
from services.engine.book import InstrumentBook
from services.engine.calendar import get_calendar
from services.engine.config import EngineConfig
from services.engine.fold import I64, Columns, Positions, fold_compiled
from services.engine.history import NO_TIME
from services.engine.registry import Instrument
from services.engine.rows import Rows
from services.engine.windows import STATIC, WindowMeta, WindowStore
from tests.engine.numpy_rules.fold import fold_rows

FOLDS = pytest.mark.parametrize("fold", [fold_compiled, fold_rows], ids=["compiled", "numpy"])
"""The engine's compiled fold and its NumPy reference, held to the same definition."""

_N_CODES = 3
Row = tuple[int, int, float, float, int]
Fold = Callable[[Columns, Positions, Rows, I64], None]
"""(code, observation time, close, high, interval)"""

_row = st.tuples(
    st.integers(0, _N_CODES - 1),
    st.integers(0, 60),
    st.sampled_from([1.0, 2.0, 3.0]),
    st.sampled_from([0.0, 0.5]),
    st.sampled_from([0, 60]),
)
_window = st.tuples(st.integers(-5, 65), st.integers(0, 20))


def _batch(rows: list[Row]) -> BatchRows:
    rows = sorted(rows, key=lambda r: r[0])  # by code, arrival order kept, as price_batch does
    close = np.asarray([r[2] for r in rows], dtype=np.float64)
    high = close + np.asarray([r[3] for r in rows])
    return BatchRows(
        np.asarray([r[0] for r in rows], dtype=np.int64),
        Rows(
            np.asarray([r[1] for r in rows], dtype=np.int64),
            close,
            high,
            close - np.asarray([r[3] for r in rows]),
            close,
            np.asarray([r[4] for r in rows], dtype=np.int64),
        ),
    )


def _expected(rows: list[Row], cut: int, end: int) -> dict[str, float]:
    """A window's aggregates by their definitions, over the rows accepted (a repeat of a row
    of an earlier batch counts as an observation again)."""
    out: dict[str, float] = {"n_obs": 0, "base_us": NO_TIME, "high": -np.inf, "low": np.inf}
    before = [r for r in rows if r[1] <= cut]
    if before:
        out["base_us"], out["base_price"] = max((r[1], r[2]) for r in before)
    inside = [r for r in rows if cut < r[1] <= end]
    if inside:
        out["n_obs"] = len(inside)
        out["first_us"], out["first_close"] = min((r[1], r[2]) for r in inside)
        out["last_us"], out["last_close"] = max((r[1], r[2]) for r in inside)
        out["high"], out["high_us"] = max((r[2] + r[3], -r[1]) for r in inside)
        out["high_us"] = -out["high_us"]
        out["low"], out["low_us"] = min((r[2] - r[3], r[1]) for r in inside)
        out["max_interval_us"] = max(r[4] for r in inside)
    return out


@FOLDS
@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(_row, min_size=1, max_size=12), min_size=1, max_size=4),
    st.lists(_window, min_size=1, max_size=5),
)
def test_batches_fold_into_what_every_row_seen_defines(
    fold: Fold, batches: list[list[Row]], spans: list[tuple[int, int]]
) -> None:
    store = WindowStore()
    for code in range(_N_CODES):
        table = store.table(code)
        for k, (cut, length) in enumerate(spans):
            values = {"duration_us": 0, "at_open": False, "session": 0, "sessions_k": 1.0}
            values |= {"anchor_us": cut, "base_cut_us": cut, "end_us": cut + length}
            table.add([WindowMeta(f"a{k}", "h")], {n: [values[n]] for n in STATIC})
    watermarks = np.full(_N_CODES, NO_TIME, dtype=np.int64)
    seen: list[list[Row]] = [[] for _ in range(_N_CODES)]
    for raw in batches:
        accepted, _, _ = accept(_batch(raw), watermarks, lateness_us=30)
        fold(store.cols, np.flatnonzero(store.cols["alive"]), accepted.rows, accepted.codes)
        codes, obs = accepted.codes, accepted.rows.obs_us
        for j in range(len(codes)):
            code = int(codes[j])
            r = accepted.rows
            high = float(r.high[j] - r.close[j])
            seen[code].append((code, int(obs[j]), float(r.close[j]), high, int(r.interval_us[j])))
            watermarks[code] = max(watermarks[code], int(obs[j]))
        for code in range(_N_CODES):
            positions = store.tables[code].positions()
            for pos, (cut, length) in zip(positions.tolist(), spans, strict=True):
                for name, value in _expected(seen[code], cut, cut + length).items():
                    assert store.cols[name][pos] == value, (name, code, cut, length)


def _book() -> InstrumentBook:
    config = EngineConfig()
    calendar = get_calendar("XKRX", config.calendar_start, config.calendar_end)
    return InstrumentBook.empty(Instrument("A", "KR", "XKRX"), calendar, config)


def test_retired_finals_holding_a_time_follow_the_list_as_it_grows_or_is_replaced() -> None:
    book = _book()
    assert book.retired_holding(5).tolist() == []
    book.retired.append((0, 10, {}))
    assert book.retired_holding(5).tolist() == [0]
    assert book.retired_holding(11).tolist() == []  # after every retired end
    book.retired += [(20, 30, {}), (4, 25, {})]
    assert book.retired_holding(5).tolist() == [0, 2]
    assert book.retired_holding(22).tolist() == [1, 2]
    assert book.retired_holding(31).tolist() == []
    book.retired = [(100, 200, {})]  # replaced whole, e.g. by a snapshot's
    assert book.retired_holding(22).tolist() == []
    assert book.retired_holding(150).tolist() == [0]


@FOLDS
def test_a_batch_over_centuries_folds_each_instrument_alone(fold: Fold) -> None:
    far = 2**61  # `code * span` would overflow the combined key: one code at a time
    rows: list[Row] = [(0, 5, 1.0, 0.0, 0), (0, 9, 3.0, 0.5, 0), (1, far, 2.0, 0.0, 0)]
    rows += [(1, far + 4, 1.0, 0.5, 0)]
    spans = [(6, 10), (far + 1, 10), (0, far + 10)]
    store = WindowStore()
    for code in range(2):
        table = store.table(code)
        for k, (cut, length) in enumerate(spans):
            values = {"duration_us": 0, "at_open": False, "session": 0, "sessions_k": 1.0}
            values |= {"anchor_us": cut, "base_cut_us": cut, "end_us": cut + length}
            table.add([WindowMeta(f"a{k}", "h")], {n: [values[n]] for n in STATIC})
    batch = _batch(rows)
    fold(store.cols, np.flatnonzero(store.cols["alive"]), batch.rows, batch.codes)
    for code in range(2):
        own = [r for r in rows if r[0] == code]
        for pos, (cut, length) in zip(store.tables[code].positions().tolist(), spans, strict=True):
            for name, value in _expected(own, cut, cut + length).items():
                assert store.cols[name][pos] == value, (name, code, cut)
