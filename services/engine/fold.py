"""Price rows folded into window aggregates, for the windows of one or many instruments at once.

Every aggregate is a mergeable maximum or minimum (base = last observation at or before the
cut, first/last in the window, the highest high and lowest low with their earliest times), so
out-of-order rows and duplicates give the same result as one sorted pass.

Rows of several instruments come sorted by (instrument code, observation time); each window
finds its rows by binary search on one combined key, `code * span + time offset`, so the
windows of every instrument in a batch are folded by the same few array operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.rows import Rows

Positions = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
Columns = dict[str, npt.NDArray[Any]]
_PADDED_LONGEST = 128
"""Slices up to this long are scanned together, padded to the longest; longer ones one at a
time (where a Python step per slice costs less than the padding's cells)."""
_SCANNED_PER_WINDOW = 16
"""Slices up to this long are scanned once per window rather than once per distinct slice."""


def fold_rows(cols: Columns, windows: Positions, rows: Rows, codes: I64 | None = None) -> None:
    """Fold `rows` (sorted and de-duplicated per instrument; `codes` their instruments, sorted,
    or None for rows of one instrument) into the aggregates of `windows`."""
    if len(rows) == 0 or len(windows) == 0:
        return
    obs_us = rows.obs_us
    if codes is None:
        row_key = obs_us
        cut_key, end_key = cols["base_cut_us"][windows], cols["end_us"][windows]
        segment_start = np.zeros(len(windows), dtype=np.intp)
    else:
        low_us, span_us = int(obs_us.min()), int(obs_us.max() - obs_us.min()) + 3
        if (int(codes[-1]) + 1) * span_us >= 2**62:  # a batch over centuries: one code at a time
            _fold_each_code(cols, windows, rows, codes)
            return
        window_code = cols["inst"][windows]
        row_key = codes * span_us + (obs_us - low_us + 1)
        # times outside the batch's rows clip to just before or after them (same order)
        cut_key = window_code * span_us + np.clip(
            cols["base_cut_us"][windows] - low_us + 1, 0, span_us - 1
        )
        end_key = window_code * span_us + np.clip(
            cols["end_us"][windows] - low_us + 1, 0, span_us - 1
        )
        segment_start = np.searchsorted(row_key, window_code * span_us, side="left")
    # each window's rows are the slice [first_row, stop_row) of the sorted batch
    first_row = np.searchsorted(row_key, cut_key, side="right")
    stop_row = np.searchsorted(row_key, end_key, side="right")

    # base: the last row of its instrument at or before the cut (the maximum: rows are sorted)
    has_base = first_row > segment_start
    if has_base.any():
        _take_later(cols, "base_us", "base_price", windows[has_base], first_row[has_base] - 1, rows)

    inside = stop_row > first_row
    if not inside.any():
        return
    windows, first_row, stop_row = windows[inside], first_row[inside], stop_row[inside]
    cols["n_obs"][windows] += stop_row - first_row
    # earliest first row (ties: the lower close), and its open for the gap
    cur_us, cur_close = cols["first_us"][windows], cols["first_close"][windows]
    row_us, row_close = obs_us[first_row], rows.close[first_row]
    earlier = (row_us < cur_us) | ((row_us == cur_us) & (row_close < cur_close))
    changed, rows_in = windows[earlier], first_row[earlier]
    cols["first_us"][changed] = obs_us[rows_in]
    cols["first_close"][changed] = rows.close[rows_in]
    cols["first_open"][changed] = rows.open[rows_in]
    cols["dirty"][changed] = True
    _take_later(cols, "last_us", "last_close", windows, stop_row - 1, rows)
    _fold_extremes(cols, windows, first_row, stop_row, rows)


def _fold_each_code(cols: Columns, windows: Positions, rows: Rows, codes: I64) -> None:
    present, starts = np.unique(codes, return_index=True)
    bounds = [*starts.tolist(), len(codes)]
    window_code = cols["inst"][windows]
    for j, code in enumerate(present.tolist()):
        part = rows.take(np.arange(bounds[j], bounds[j + 1]))
        fold_rows(cols, windows[window_code == code], part)


def _take_later(
    cols: Columns, time_col: str, price_col: str, windows: Positions, row: Positions, rows: Rows
) -> None:
    """Where `row` is later than the window's (time, close) pair (ties: the higher close),
    it becomes the window's value."""
    row_us, row_close = rows.obs_us[row], rows.close[row]
    cur_us, cur_price = cols[time_col][windows], cols[price_col][windows]
    later = (row_us > cur_us) | ((row_us == cur_us) & (row_close > cur_price))
    changed = windows[later]
    cols[time_col][changed] = row_us[later]
    cols[price_col][changed] = row_close[later]
    cols["dirty"][changed] = True


def _fold_extremes(
    cols: Columns, windows: Positions, first_row: Positions, stop_row: Positions, rows: Rows
) -> None:
    """Highest high and lowest low (earliest on ties) and the coarsest bar of each slice."""
    obs_us = rows.obs_us
    if int((stop_row - first_row).max()) <= _SCANNED_PER_WINDOW:
        # a few rows per window (many instruments in the batch): each window's slice is
        # scanned, cheaper than sorting the windows to find the distinct slices
        high_row, low_row, interval_us = _slice_extremes(first_row, stop_row, rows)
    else:
        # windows share few distinct slices, so each distinct [first, stop) is scanned once
        n_rows = len(obs_us) + 1
        slices, slice_of = np.unique(first_row * n_rows + stop_row, return_inverse=True)
        start, stop = np.divmod(slices, n_rows)
        high_row, low_row, interval_us = (
            column[slice_of] for column in _slice_extremes(start, stop, rows)
        )

    new, new_us = rows.high[high_row], obs_us[high_row]
    cur, cur_us = cols["high"][windows], cols["high_us"][windows]
    better = (new > cur) | ((new == cur) & (new_us < cur_us))
    _set(cols, windows[better], high=new[better], high_us=new_us[better])
    new, new_us = rows.low[low_row], obs_us[low_row]
    cur, cur_us = cols["low"][windows], cols["low_us"][windows]
    better = (new < cur) | ((new == cur) & (new_us < cur_us))
    _set(cols, windows[better], low=new[better], low_us=new_us[better])
    coarser = interval_us > cols["max_interval_us"][windows]
    _set(cols, windows[coarser], max_interval_us=interval_us[coarser])


def _slice_extremes(start: I64, stop: I64, rows: Rows) -> tuple[I64, I64, I64]:
    """Per non-empty slice [start, stop) of the rows: the row of its highest high and of its
    lowest low (the first on ties: the earliest) and its largest bar interval."""
    length = stop - start
    longest = int(length.max())
    if longest <= _PADDED_LONGEST:
        # one row per slice, padded to the longest with values that never win
        offset = np.arange(longest)
        valid = offset < length[:, None]
        at = np.minimum(start[:, None] + offset, len(rows) - 1)
        high_row = start + np.argmax(np.where(valid, rows.high[at], -np.inf), axis=1)
        low_row = start + np.argmin(np.where(valid, rows.low[at], np.inf), axis=1)
        interval_us = np.where(valid, rows.interval_us[at], 0).max(axis=1)
        return high_row, low_row, interval_us
    high_row = np.empty(len(start), dtype=np.int64)
    low_row = np.empty(len(start), dtype=np.int64)
    interval_us = np.empty(len(start), dtype=np.int64)
    for k, (a, b) in enumerate(zip(start.tolist(), stop.tolist(), strict=True)):
        high_row[k] = a + int(np.argmax(rows.high[a:b]))
        low_row[k] = a + int(np.argmin(rows.low[a:b]))
        interval_us[k] = rows.interval_us[a:b].max()
    return high_row, low_row, interval_us


def _set(cols: Columns, windows: Positions, **values: Any) -> None:
    for name, value in values.items():
        cols[name][windows] = value
    cols["dirty"][windows] = True
