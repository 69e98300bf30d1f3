"""Windows waiting for their anchor take their base from their instrument's latest row only when
the watermark passes their cut (waiting.py): over any sequence of batches, every window's state,
as a snapshot reads it, equals folding every batch into every window."""

from __future__ import annotations

import pickle

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine.batch import BatchRows, accept
from services.engine.calendar import get_calendar
from services.engine.config import EngineConfig
from services.engine.fold import fold_compiled
from services.engine.history import PriceStore
from services.engine.rows import Rows
from services.engine.waiting import fold_batch
from services.engine.windows import WindowMeta, WindowStore, WindowTable
from tests.engine.numpy_rules.fold import fold_rows
from tests.engine.test_window_store import _N_CODES, _rows, _static, rows_of_codes, windows

_LATENESS_US = 8


def _prices() -> PriceStore:
    config = EngineConfig()
    calendar = get_calendar("XKRX", config.calendar_start, config.calendar_end)
    return PriceStore([calendar] * _N_CODES, config)


def _stores(spans: list[tuple[int, int]]) -> tuple[WindowStore, WindowStore]:
    every, waiting = WindowStore(), WindowStore()
    for store in (every, waiting):
        for code in range(_N_CODES):
            table = store.table(code)
            for k, (cut, end) in enumerate(spans):
                table.add([WindowMeta(f"a{k}", "h")], _static(cut, end))
    return every, waiting


def _states(store: WindowStore) -> list[dict[str, np.ndarray]]:
    return [store.tables[code].__getstate__()["columns"] for code in range(_N_CODES)]


@settings(max_examples=80, deadline=None)
@given(st.lists(rows_of_codes, min_size=1, max_size=5), windows)
def test_waiting_windows_end_as_if_every_batch_were_folded_into_them(
    batches: list[list[tuple[int, int, float]]], spans: list[tuple[int, int]]
) -> None:
    every, waiting = _stores(spans)
    prices = _prices()
    waiting.latest_base = (prices.latest_us, prices.latest_close)
    for rows in batches:
        rows = sorted(rows, key=lambda r: r[0])
        codes = np.asarray([r[0] for r in rows], dtype=np.int64)
        batch = BatchRows(codes, _rows([r[1] for r in rows], [r[2] for r in rows]))
        accepted, _, _ = accept(batch, prices.watermark_us, _LATENESS_US)
        fold_rows(every.cols, np.flatnonzero(every.cols["alive"]), accepted.rows, accepted.codes)
        before = (prices.watermark_us.copy(), prices.latest_us.copy(), prices.latest_close.copy())
        prices.append(accepted.codes, accepted.rows)
        fold_batch(waiting.cols, accepted.rows, accepted.codes, prices.watermark_us, before)
        for want, got in zip(_states(every), _states(waiting), strict=True):
            for name, column in want.items():
                np.testing.assert_array_equal(got[name], column, err_msg=name)


def _fold_by_arrays(
    cols: dict[str, np.ndarray],
    rows: Rows,
    codes: np.ndarray,
    after: np.ndarray,
    before: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """`fold_batch` by fold.py's array rules: the live windows of the instruments with rows,
    but those still waiting after the batch, folded with the waiting bases."""
    watermark = np.full(len(after), np.iinfo(np.int64).min, dtype=np.int64)
    watermark[codes] = after[codes]
    windows = np.flatnonzero(cols["alive"] & (cols["base_cut_us"] < watermark[cols["inst"]]))
    fold_rows(cols, windows, rows, codes, (after, *before))


@settings(max_examples=80, deadline=None)
@given(st.lists(rows_of_codes, min_size=1, max_size=5), windows)
def test_the_compiled_fold_follows_the_array_rules(
    batches: list[list[tuple[int, int, float]]], spans: list[tuple[int, int]]
) -> None:
    """Every column of every window (dirty marks included) after each batch, against fold.py's
    `fold_rows` with the same bases: late, duplicate and out-of-order rows alike."""
    compiled, arrays = _stores(spans)
    prices = _prices()
    for rows in batches:
        rows = sorted(rows, key=lambda r: r[0])
        codes = np.asarray([r[0] for r in rows], dtype=np.int64)
        batch = BatchRows(codes, _rows([r[1] for r in rows], [r[2] for r in rows]))
        accepted, _, _ = accept(batch, prices.watermark_us, _LATENESS_US)
        before = (prices.watermark_us.copy(), prices.latest_us.copy(), prices.latest_close.copy())
        prices.append(accepted.codes, accepted.rows)
        fold_batch(compiled.cols, accepted.rows, accepted.codes, prices.watermark_us, before)
        _fold_by_arrays(arrays.cols, accepted.rows, accepted.codes, prices.watermark_us, before)
        for name, column in arrays.cols.items():
            if column.dtype != object:
                np.testing.assert_array_equal(compiled.cols[name], column, err_msg=name)


@settings(max_examples=80, deadline=None)
@given(st.lists(rows_of_codes, min_size=1, max_size=5), windows)
def test_the_compiled_fold_of_chosen_windows_follows_the_array_rules(
    batches: list[list[tuple[int, int, float]]], spans: list[tuple[int, int]]
) -> None:
    """`fold_compiled` (a late announcement's windows filled from history) against `fold_rows`
    for the same windows, without waiting bases: every column after each batch."""
    compiled, arrays = _stores(spans)
    prices = _prices()
    for k, rows in enumerate(batches):
        rows = sorted(rows, key=lambda r: r[0])
        codes = np.asarray([r[0] for r in rows], dtype=np.int64)
        batch = BatchRows(codes, _rows([r[1] for r in rows], [r[2] for r in rows]))
        accepted, _, _ = accept(batch, prices.watermark_us, _LATENESS_US)
        prices.append(accepted.codes, accepted.rows)
        chosen = np.flatnonzero(arrays.cols["alive"])[k % 2 :: 2]  # every other window
        fold_compiled(compiled.cols, chosen, accepted.rows, accepted.codes)
        fold_rows(arrays.cols, chosen, accepted.rows, accepted.codes)
        for name, column in arrays.cols.items():
            if column.dtype != object:
                np.testing.assert_array_equal(compiled.cols[name], column, err_msg=name)


def test_a_snapshot_of_a_waiting_window_holds_its_base() -> None:
    _, waiting = _stores([(100, 200)])
    prices = _prices()
    waiting.latest_base = (prices.latest_us, prices.latest_close)
    codes = np.asarray([0, 0, 1], dtype=np.int64)
    rows = _rows([10, 20, 30], [1.0, 2.0, 3.0])
    before = (prices.watermark_us.copy(), prices.latest_us.copy(), prices.latest_close.copy())
    prices.append(codes, rows)
    fold_batch(waiting.cols, rows, codes, prices.watermark_us, before)
    # the store's own columns still wait; the snapshot's hold each instrument's latest row
    assert (waiting.cols["base_us"] < 0).all()
    for code, (base_us, base_price) in enumerate([(20, 2.0), (30, 3.0), (None, None)]):
        loaded: WindowTable = pickle.loads(pickle.dumps(waiting.tables[code]))
        cols = loaded.cols
        if base_us is None:
            assert np.isnan(cols["base_price"][0])
        else:
            assert (int(cols["base_us"][0]), float(cols["base_price"][0])) == (base_us, base_price)
            assert bool(cols["dirty"][0])
