"""Open reaction windows of one instrument as column arrays, merged with price rows at once.

Every aggregate is a mergeable maximum or minimum (base = last observation at or before the
cut, first/last in the window, the highest high and lowest low with their earliest times), so
out-of-order rows and duplicates give the same result as one sorted pass.

Columns grow by doubling and retired windows stay in place as dead rows until they outnumber
the live ones, so neither opening nor retiring a window copies or re-indexes the table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.confounders import Anchors, ConfounderCache
from services.engine.history import NO_TIME
from services.engine.rows import Rows

I64 = npt.NDArray[np.int64]
Positions = npt.NDArray[np.intp]
LATEST = 2**62

# name → (dtype, initial value)
_COLUMNS: dict[str, tuple[type, float | int | bool]] = {
    # static: set when the window opens
    "anchor_us": (np.int64, 0),
    "base_cut_us": (np.int64, 0),
    "end_us": (np.int64, 0),
    "duration_us": (np.int64, 0),
    "at_open": (np.bool_, False),
    "session": (np.int64, 0),
    "sessions_k": (np.float64, 0.0),
    # aggregates of the observations seen so far
    "base_us": (np.int64, NO_TIME),
    "base_price": (np.float64, np.nan),
    "n_obs": (np.int64, 0),
    "first_us": (np.int64, LATEST),
    "first_close": (np.float64, np.inf),
    "first_open": (np.float64, np.nan),
    "last_us": (np.int64, NO_TIME),
    "last_close": (np.float64, -np.inf),
    "high": (np.float64, -np.inf),
    "high_us": (np.int64, LATEST),
    "low": (np.float64, np.inf),
    "low_us": (np.int64, LATEST),
    "max_interval_us": (np.int64, 0),
    # emission state: what the last revision said, and whether anything changed since
    "revision": (np.int64, 0),
    "final": (np.bool_, False),
    "dirty": (np.bool_, False),
    "sent_watermark_us": (np.int64, NO_TIME),
    "sent_return_pct": (np.float64, np.nan),
    "sent_rise_pct": (np.float64, np.nan),
    "sent_fall_pct": (np.float64, np.nan),
    # restored from a previous run and not yet rebuilt up to what that run had sent
    "held": (np.bool_, False),
    # bumped whenever an announcement anchors inside the window (its confounders changed)
    "confounder_changes": (np.int64, 0),
    # False once retired: the row waits, ignored, for the next compaction
    "alive": (np.bool_, True),
}
STATIC = ("anchor_us", "base_cut_us", "end_us", "duration_us", "at_open", "session", "sessions_k")


class WindowMeta:
    """The parts of a window that are not numbers in the arrays."""

    __slots__ = ("announcement_id", "confounders", "horizon", "last_sent")

    def __init__(self, announcement_id: str, horizon: str) -> None:
        self.announcement_id = announcement_id
        self.horizon = horizon
        self.last_sent: dict[str, Any] | None = None
        """The fields of the last revision sent (confounders as `ConfounderCache.json`)."""
        self.confounders: ConfounderCache | None = None


class WindowTable:
    """Column arrays, one position per window; `dirty` marks content changes to emit.

    `cols` are views of the first `size` rows of the storage, live or dead; `index` maps
    (announcement, horizon) of each live window to its position."""

    def __init__(self) -> None:
        self._storage: dict[str, npt.NDArray[Any]] = {
            name: np.empty(0, dtype=dtype) for name, (dtype, _) in _COLUMNS.items()
        }
        self.cols: dict[str, npt.NDArray[Any]] = dict(self._storage)
        self.meta: list[WindowMeta] = []
        self.index: dict[tuple[str, str], int] = {}
        self.anchors = Anchors()
        self._dead = 0

    def __len__(self) -> int:
        """Live windows."""
        return len(self.meta) - self._dead

    def live(self) -> Positions:
        return np.flatnonzero(self.cols["alive"])

    def add(self, metas: list[WindowMeta], static: dict[str, list[Any]]) -> range:
        """Append windows (aggregates empty; `static` has every STATIC column)."""
        start = len(self.meta)
        size = start + len(metas)
        if size > len(self._storage["alive"]):
            self._grow(max(2 * size, 16))
        for name, (_, initial) in _COLUMNS.items():
            self._storage[name][start:size] = static[name] if name in STATIC else initial
        self.meta.extend(metas)
        self._view(size)
        for pos, meta in enumerate(metas, start):
            self.index[(meta.announcement_id, meta.horizon)] = pos
        return range(start, size)

    def retire(self, positions: Positions) -> None:
        """Drop the windows at `positions`; compacts once dead rows outnumber live ones."""
        cols = self.cols
        cols["alive"][positions] = False
        # a dead row never looks due: final, clean, not held
        cols["final"][positions] = True
        cols["dirty"][positions] = False
        cols["held"][positions] = False
        for pos in positions.tolist():
            meta = self.meta[pos]
            del self.index[(meta.announcement_id, meta.horizon)]
        self._dead += len(positions)
        if self._dead > max(len(self), 64):
            self._compact()

    def confounders(self, pos: int) -> ConfounderCache:
        """The confounders of window `pos`, computed again only after they changed."""
        meta = self.meta[pos]
        changes = int(self.cols["confounder_changes"][pos])
        cached = meta.confounders
        if cached is None or cached.changes != changes:
            ids = self.anchors.inside(
                int(self.cols["anchor_us"][pos]),
                int(self.cols["end_us"][pos]),
                meta.announcement_id,
            )
            cached = meta.confounders = ConfounderCache(changes, ids)
        return cached

    def add_anchor(self, anchor_us: int, announcement_id: str) -> None:
        """A new announcement at `anchor_us`: the live windows that hold it gain a confounder."""
        cols = self.cols
        inside = cols["alive"] & (cols["anchor_us"] <= anchor_us) & (cols["end_us"] >= anchor_us)
        cols["confounder_changes"][inside] += 1
        cols["dirty"][inside] = True
        self.anchors.add(anchor_us, announcement_id)

    def _grow(self, capacity: int) -> None:
        for name, column in self._storage.items():
            grown = np.empty(capacity, dtype=column.dtype)
            grown[: len(self.meta)] = column[: len(self.meta)]
            self._storage[name] = grown

    def _view(self, size: int) -> None:
        self.cols = {name: column[:size] for name, column in self._storage.items()}

    def _compact(self) -> None:
        keep = self.cols["alive"].copy()
        size = int(keep.sum())
        for name, column in self._storage.items():
            column[:size] = self.cols[name][keep]
        self.meta = [m for m, k in zip(self.meta, keep.tolist(), strict=True) if k]
        self._dead = 0
        self._view(size)
        self.index = {(m.announcement_id, m.horizon): i for i, m in enumerate(self.meta)}

    def merge(self, rows: Rows, only: Positions | None = None) -> None:
        """Fold sorted, de-duplicated rows into the aggregates of all live (or `only` these)
        windows."""
        if len(rows) == 0 or len(self) == 0:
            return
        cols = self.cols
        windows = self.live() if only is None else only
        obs_us, close = rows.obs_us, rows.close
        # each window's rows are the slice [first_row, stop_row) of the sorted batch
        first_row = np.searchsorted(obs_us, cols["base_cut_us"][windows], side="right")
        stop_row = np.searchsorted(obs_us, cols["end_us"][windows], side="right")

        # base: the last row at or before the cut (rows are sorted, so it is the maximum)
        has_base = first_row > 0
        if has_base.any():
            _take_later(
                cols, "base_us", "base_price", windows[has_base], first_row[has_base] - 1, rows
            )

        inside = stop_row > first_row
        if not inside.any():
            return
        windows, first_row, stop_row = windows[inside], first_row[inside], stop_row[inside]
        cols["n_obs"][windows] += stop_row - first_row
        # earliest first row (ties: the lower close), and its open for the gap
        cur_us, cur_close = cols["first_us"][windows], cols["first_close"][windows]
        row_us, row_close = obs_us[first_row], close[first_row]
        earlier = (row_us < cur_us) | ((row_us == cur_us) & (row_close < cur_close))
        changed, rows_in = windows[earlier], first_row[earlier]
        cols["first_us"][changed] = obs_us[rows_in]
        cols["first_close"][changed] = close[rows_in]
        cols["first_open"][changed] = rows.open[rows_in]
        cols["dirty"][changed] = True
        _take_later(cols, "last_us", "last_close", windows, stop_row - 1, rows)
        _fold_extremes(cols, windows, first_row, stop_row, rows)


def _take_later(
    cols: dict[str, npt.NDArray[Any]],
    time_col: str,
    price_col: str,
    windows: Positions,
    row: Positions,
    rows: Rows,
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
    cols: dict[str, npt.NDArray[Any]],
    windows: Positions,
    first_row: Positions,
    stop_row: Positions,
    rows: Rows,
) -> None:
    """Highest high and lowest low (earliest on ties) and the coarsest bar of each slice."""
    obs_us = rows.obs_us
    # windows share few distinct slices, so each distinct [first, stop) is scanned once
    n_rows = len(obs_us) + 1
    slices, slice_of = np.unique(first_row * n_rows + stop_row, return_inverse=True)
    high = np.empty(len(slices))
    high_row = np.empty(len(slices), dtype=np.int64)
    low = np.empty(len(slices))
    low_row = np.empty(len(slices), dtype=np.int64)
    interval_us = np.empty(len(slices), dtype=np.int64)
    for k, key in enumerate(slices.tolist()):
        start, stop = divmod(key, n_rows)
        high_row[k] = start + int(np.argmax(rows.high[start:stop]))
        low_row[k] = start + int(np.argmin(rows.low[start:stop]))
        high[k], low[k] = rows.high[high_row[k]], rows.low[low_row[k]]
        interval_us[k] = rows.interval_us[start:stop].max()

    new, new_us = high[slice_of], obs_us[high_row[slice_of]]
    cur, cur_us = cols["high"][windows], cols["high_us"][windows]
    better = (new > cur) | ((new == cur) & (new_us < cur_us))
    _set(cols, windows[better], high=new[better], high_us=new_us[better])
    new, new_us = low[slice_of], obs_us[low_row[slice_of]]
    cur, cur_us = cols["low"][windows], cols["low_us"][windows]
    better = (new < cur) | ((new == cur) & (new_us < cur_us))
    _set(cols, windows[better], low=new[better], low_us=new_us[better])
    new_interval = interval_us[slice_of]
    coarser = new_interval > cols["max_interval_us"][windows]
    _set(cols, windows[coarser], max_interval_us=new_interval[coarser])


def _set(cols: dict[str, npt.NDArray[Any]], windows: Positions, **values: Any) -> None:
    for name, value in values.items():
        cols[name][windows] = value
    cols["dirty"][windows] = True
