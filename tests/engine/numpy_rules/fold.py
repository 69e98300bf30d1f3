"""The fold of services/engine/fold.py stated as NumPy array operations: the reference the
compiled fold (services/engine/native/src/fold.rs) is held to, column by column.

Rows of several instruments come sorted by (instrument code, observation time); each window
finds its rows by comparing its span with its instrument's first and last row, or where it
begins or ends among them by binary search on one combined key, `code * span + time offset`,
so the windows of every instrument in a batch are folded by the same few array operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from services.engine.fold import I64, Columns, Positions, WaitingBases, take_base
from services.engine.history import later_of
from services.engine.ranges import first_argmax
from services.engine.rows import Rows

_PADDED_LONGEST = 128
"""Slices up to this long are scanned together, padded to the longest; longer ones one at a
time (where a Python step per slice costs less than the padding's cells)."""
_TABLE_CELLS_PER_SLICE = 400
"""Longer slices are read from a sparse table of the rows (ranges.py) where it has at most this
many cells (rows x levels) per slice: about the cost of scanning one slice by itself."""
_SCANNED_PER_WINDOW = 16
"""Slices up to this long are scanned once per window rather than once per distinct slice."""


def fold_rows(
    cols: Columns,
    windows: Positions,
    rows: Rows,
    codes: I64 | None = None,
    bases: WaitingBases | None = None,
) -> None:
    """Fold `rows` (sorted and de-duplicated per instrument; `codes` their instruments, sorted,
    or None for rows of one instrument) into the aggregates of `windows`.

    With `bases`, the windows still waiting for their anchor after the batch keep their base
    in their instrument's latest row (waiting.py): they are left alone, and those the batch
    moves past their cut take that row (before the batch) as their base too.

    Most windows are placed by comparing their cut and end with their instrument's first and
    last row in the batch: one waiting for its anchor (every row at or before its cut) only
    takes the last row as its base; one that began before the rows and ends after them holds
    them all; one that ended before them takes nothing. Only the windows whose cut or end
    falls among the rows are placed by binary search."""
    if len(rows) == 0 or len(windows) == 0:
        return
    if codes is None:
        codes = np.zeros(len(rows), dtype=np.int64)
        window_code = np.zeros(len(windows), dtype=np.int64)
    else:
        window_code = cols["inst"][windows]
    obs_us = rows.obs_us
    # each code's first row (and the end): its rows are [bounds[code], bounds[code + 1])
    bounds = np.searchsorted(codes, np.arange(max(int(codes[-1]), int(window_code.max())) + 2))
    seg_start, seg_stop = bounds[window_code], bounds[window_code + 1]
    first_us = obs_us[np.minimum(bounds[:-1], len(rows) - 1)][window_code]
    last_us = obs_us[np.maximum(bounds[1:] - 1, 0)][window_code]
    cut_us, end_us = cols["base_cut_us"][windows], cols["end_us"][windows]
    has_rows = seg_stop > seg_start
    is_waiting = has_rows & (cut_us >= last_us)
    early = has_rows & (cut_us < first_us)
    is_covering = early & (end_us >= last_us)
    ended = early & (end_us < first_us)
    boundary = first_b = stop_b = np.flatnonzero(has_rows & ~is_waiting & ~is_covering & ~ended)
    after_all = np.flatnonzero(is_covering)[:0]
    if bases is not None:
        # holding rows all later than any seen before (the live feed): taken without ties
        later_rows = first_us > bases[1][window_code]
        after_all = np.flatnonzero(is_covering & later_rows)
        is_covering = is_covering & ~later_rows
    if len(boundary):
        placed = _placed(cols, windows[boundary], window_code[boundary], rows, codes)
        if placed is None:  # a batch over centuries: one code at a time
            _fold_each_code(cols, windows[boundary], rows, codes)
            boundary = first_b = stop_b = boundary[:0]
        else:
            first_b, stop_b = placed

    # base: the last row of its instrument at or before the cut (the maximum: rows are sorted)
    has_base = first_b > seg_start[boundary]
    waiting = np.flatnonzero(is_waiting)
    if bases is not None:
        after_us, before_us, latest_us, latest_close = bases
        waiting = waiting[cut_us[waiting] < after_us[window_code[waiting]]]
        crossing = np.flatnonzero(cut_us >= before_us[window_code])
        crossing = crossing[has_rows[crossing] & ~is_waiting[crossing]]
        code = window_code[crossing]
        take_base(cols, windows[crossing], latest_us[code], latest_close[code])
    _take_later(
        cols,
        "base_us",
        "base_price",
        np.concatenate((windows[waiting], windows[boundary[has_base]])),
        np.concatenate((seg_stop[waiting] - 1, first_b[has_base] - 1)),
        rows,
    )

    segments = np.flatnonzero(bounds[1:] > bounds[:-1])
    extremes = _segment_extremes(bounds, segments, rows) if len(after_all) else None
    if extremes is not None:
        first, stop = seg_start[after_all], seg_stop[after_all]
        _fold_later_rows(cols, windows[after_all], first, stop, rows, extremes)
    inside = stop_b > first_b
    covering = np.flatnonzero(is_covering)
    if not len(covering) and not inside.any():
        return
    boundary, first_b, stop_b = boundary[inside], first_b[inside], stop_b[inside]
    first_row = np.concatenate((seg_start[covering], first_b))
    stop_row = np.concatenate((seg_stop[covering], stop_b))
    windows = np.concatenate((windows[covering], windows[boundary]))
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
    # the extremes of a covering window are its instrument's, found once per instrument
    whole = _extremes(first_b[:0], stop_b[:0], rows)
    if len(covering):
        if extremes is None:
            extremes = _segment_extremes(bounds, segments, rows)
        high, low, interval = extremes
        at = window_code[covering]
        whole = high[at], low[at], interval[at]
    part = _extremes(first_b, stop_b, rows)
    high_row, low_row, interval_us = (
        np.concatenate((w, p)) for w, p in zip(whole, part, strict=True)
    )
    _fold_extremes(cols, windows, high_row, low_row, interval_us, rows)


def _segment_extremes(bounds: I64, segments: I64, rows: Rows) -> tuple[I64, I64, I64]:
    """`_slice_extremes` of each instrument's rows, by code (`segments`: the codes with rows;
    0 for the others)."""
    high, low, interval = (np.zeros(len(bounds), dtype=np.int64) for _ in range(3))
    high[segments], low[segments], interval[segments] = _slice_extremes(
        bounds[segments], bounds[segments + 1], rows
    )
    return high, low, interval


def _fold_later_rows(
    cols: Columns,
    windows: Positions,
    first_row: I64,
    stop_row: I64,
    rows: Rows,
    extremes: tuple[I64, I64, I64],
) -> None:
    """Fold into `windows` all their instrument's rows [first, stop), each later than every
    row they hold: it is their last, the first only where they had none, and a new high or low
    where it exceeds theirs (never a tie won by time)."""
    obs_us, close = rows.obs_us, rows.close
    cols["n_obs"][windows] += stop_row - first_row
    earlier = obs_us[first_row] < cols["first_us"][windows]
    changed, rows_in = windows[earlier], first_row[earlier]
    cols["first_us"][changed] = obs_us[rows_in]
    cols["first_close"][changed] = close[rows_in]
    cols["first_open"][changed] = rows.open[rows_in]
    cols["last_us"][windows] = obs_us[stop_row - 1]
    cols["last_close"][windows] = close[stop_row - 1]
    cols["dirty"][windows] = True
    code = cols["inst"][windows]
    high_row, low_row, interval_us = (e[code] for e in extremes)
    new = rows.high[high_row]
    better = new > cols["high"][windows]
    cols["high"][windows[better]] = new[better]
    cols["high_us"][windows[better]] = obs_us[high_row[better]]
    new = rows.low[low_row]
    better = new < cols["low"][windows]
    cols["low"][windows[better]] = new[better]
    cols["low_us"][windows[better]] = obs_us[low_row[better]]
    coarser = interval_us > cols["max_interval_us"][windows]
    cols["max_interval_us"][windows[coarser]] = interval_us[coarser]


def _placed(
    cols: Columns, windows: Positions, window_code: I64, rows: Rows, codes: I64
) -> tuple[I64, I64] | None:
    """The slice [first row, stop row) of each window's rows in the batch, by binary search on
    one combined key, `code * span + time offset` (None where that key would overflow)."""
    obs_us = rows.obs_us
    cut_us, end_us = cols["base_cut_us"][windows], cols["end_us"][windows]
    if int(codes[-1]) == 0 and int(window_code.max()) == 0:  # one instrument: times are keys
        return np.searchsorted(obs_us, cut_us, "right"), np.searchsorted(obs_us, end_us, "right")
    low_us, span_us = int(obs_us.min()), int(obs_us.max() - obs_us.min()) + 3
    if (max(int(codes[-1]), int(window_code.max())) + 1) * span_us >= 2**62:
        return None
    row_key = codes * span_us + (obs_us - low_us + 1)
    # times outside the batch's rows clip to just before or after them (same order)
    cut_key = window_code * span_us + np.clip(cut_us - low_us + 1, 0, span_us - 1)
    end_key = window_code * span_us + np.clip(end_us - low_us + 1, 0, span_us - 1)
    first_row = np.searchsorted(row_key, cut_key, side="right")
    stop_row = np.searchsorted(row_key, end_key, side="right")
    return first_row, stop_row


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
    later = later_of(cols[time_col], cols[price_col], windows, rows.obs_us[row], rows.close[row])
    cols["dirty"][windows[later]] = True


def _extremes(first_row: Positions, stop_row: Positions, rows: Rows) -> tuple[I64, I64, I64]:
    """`_slice_extremes` of each window's slice [first, stop) (non-empty)."""
    if not len(first_row):
        return first_row, first_row, first_row
    if int((stop_row - first_row).max()) <= _SCANNED_PER_WINDOW:
        # a few rows per window (many instruments in the batch): each window's slice is
        # scanned, cheaper than sorting the windows to find the distinct slices
        return _slice_extremes(first_row, stop_row, rows)
    # windows share few distinct slices, so each distinct [first, stop) is scanned once
    n_rows = len(rows) + 1
    slices, slice_of = np.unique(first_row * n_rows + stop_row, return_inverse=True)
    start, stop = np.divmod(slices, n_rows)
    high_row, low_row, interval_us = _slice_extremes(start, stop, rows)
    return high_row[slice_of], low_row[slice_of], interval_us[slice_of]


def _fold_extremes(
    cols: Columns,
    windows: Positions,
    high_row: I64,
    low_row: I64,
    interval_us: I64,
    rows: Rows,
) -> None:
    """Highest high and lowest low (earliest on ties) and the coarsest bar of each window,
    from the rows of its slice's extremes."""
    obs_us = rows.obs_us
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
    if len(rows) * longest.bit_length() <= _TABLE_CELLS_PER_SLICE * len(start):
        # many long slices of few rows: every slice read at once from a table of the rows
        high_row = first_argmax(rows.high, start, stop)
        low_row = first_argmax(-rows.low, start, stop)
        interval_us = rows.interval_us[first_argmax(rows.interval_us, start, stop)]
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
