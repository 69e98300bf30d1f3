"""Open reaction windows of one instrument as column arrays, merged with price rows at once.

Every aggregate is a mergeable maximum or minimum (base = last observation at or before the
cut, first/last in the window, the highest high and lowest low with their earliest times), so
out-of-order rows and duplicates give the same result as one sorted pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.history import NO_TIME
from services.engine.rows import Rows
from services.events import Signal

I64 = npt.NDArray[np.int64]
LATEST = 2**62

# name → (dtype, initial value)
_COLUMNS: dict[str, tuple[type, float | int | bool]] = {
    # static
    "anchor_us": (np.int64, 0),
    "base_cut_us": (np.int64, 0),
    "end_us": (np.int64, 0),
    "duration_us": (np.int64, 0),
    "at_open": (np.bool_, False),
    "session": (np.int64, 0),
    "sessions_k": (np.float64, 0.0),
    # aggregates
    "base_t": (np.int64, NO_TIME),
    "base_p": (np.float64, np.nan),
    "n": (np.int64, 0),
    "first_t": (np.int64, LATEST),
    "first_c": (np.float64, np.inf),
    "first_o": (np.float64, np.nan),
    "last_t": (np.int64, NO_TIME),
    "last_c": (np.float64, -np.inf),
    "hi": (np.float64, -np.inf),
    "hi_t": (np.int64, LATEST),
    "lo": (np.float64, np.inf),
    "lo_t": (np.int64, LATEST),
    "max_iv": (np.int64, 0),
    # emission state: what the last revision said, and whether anything changed since
    "rev": (np.int64, 0),
    "final": (np.bool_, False),
    "dirty": (np.bool_, False),
    "e_wm": (np.int64, NO_TIME),
    "e_return": (np.float64, np.nan),
    "e_rise": (np.float64, np.nan),
    "e_fall": (np.float64, np.nan),
    # restored from a previous run and not yet rebuilt up to what that run had sent
    "held": (np.bool_, False),
}
STATIC = ("anchor_us", "base_cut_us", "end_us", "duration_us", "at_open", "session", "sessions_k")


class WindowMeta:
    """The parts of a window that are not numbers in the arrays."""

    __slots__ = ("_ids", "_sorted", "announcement_id", "horizon", "last_signal")

    def __init__(self, announcement_id: str, horizon: str, confounders: Iterable[str] = ()) -> None:
        self.announcement_id = announcement_id
        self.horizon = horizon
        self.last_signal: Signal | None = None
        self._ids = set(confounders)
        self._sorted: tuple[str, ...] | None = None

    @property
    def confounders(self) -> tuple[str, ...]:
        """Other announcements anchored inside the window, sorted once per change (not once
        per announcement added, nor per revision)."""
        if self._sorted is None:
            self._sorted = tuple(sorted(self._ids))
        return self._sorted

    def add_confounder(self, announcement_id: str) -> None:
        if announcement_id not in self._ids:
            self._ids.add(announcement_id)
            self._sorted = None


class WindowTable:
    """Column arrays, one position per open window; `dirty` marks content changes to emit."""

    def __init__(self) -> None:
        self.cols: dict[str, npt.NDArray[Any]] = {
            name: np.empty(0, dtype=dtype) for name, (dtype, _) in _COLUMNS.items()
        }
        self.meta: list[WindowMeta] = []
        self.index: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        return len(self.meta)

    def add(self, metas: list[WindowMeta], static: dict[str, list[Any]]) -> range:
        """Append windows (aggregates empty; `static` has every STATIC column)."""
        n_new = len(metas)
        start = len(self.meta)
        for name, (dtype, init) in _COLUMNS.items():
            new: npt.NDArray[Any] = (
                np.asarray(static[name], dtype=dtype)
                if name in STATIC
                else np.full(n_new, init, dtype=dtype)
            )
            self.cols[name] = np.concatenate([self.cols[name], new])
        self.meta.extend(metas)
        for pos, meta in enumerate(metas, start):
            self.index[(meta.announcement_id, meta.horizon)] = pos
        return range(start, start + n_new)

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        for name in self.cols:
            self.cols[name] = self.cols[name][mask]
        self.meta = [m for m, k in zip(self.meta, mask.tolist(), strict=True) if k]
        self._reindex()

    def _reindex(self) -> None:
        self.index = {(m.announcement_id, m.horizon): i for i, m in enumerate(self.meta)}

    def merge(self, rows: Rows, only: npt.NDArray[np.intp] | None = None) -> None:
        """Fold sorted, de-duplicated rows into the aggregates of all (or `only` these) windows."""
        if len(rows) == 0 or len(self.meta) == 0:
            return
        c = self.cols
        sel = np.arange(len(self.meta)) if only is None else only
        t = rows.obs_us
        cut = c["base_cut_us"][sel]
        end = c["end_us"][sel]
        lo_i = np.searchsorted(t, cut, side="right")
        hi_i = np.searchsorted(t, end, side="right")

        # base: the last row at or before the cut (rows are sorted, so it is the maximum)
        has = lo_i > 0
        if has.any():
            w = sel[has]
            j = lo_i[has] - 1
            bt, bp = c["base_t"][w], c["base_p"][w]
            better = (t[j] > bt) | ((t[j] == bt) & (rows.close[j] > bp))
            w, j = w[better], j[better]
            c["base_t"][w] = t[j]
            c["base_p"][w] = rows.close[j]
            c["dirty"][w] = True

        inside = hi_i > lo_i
        if not inside.any():
            return
        w = sel[inside]
        a = lo_i[inside]
        b = hi_i[inside]
        c["n"][w] += b - a
        # first and last rows of each window's slice
        ft, fc = c["first_t"][w], c["first_c"][w]
        better = (t[a] < ft) | ((t[a] == ft) & (rows.close[a] < fc))
        wb, ab = w[better], a[better]
        c["first_t"][wb] = t[ab]
        c["first_c"][wb] = rows.close[ab]
        c["first_o"][wb] = rows.open[ab]
        c["dirty"][wb] = True
        z = b - 1
        lt, lc = c["last_t"][w], c["last_c"][w]
        better = (t[z] > lt) | ((t[z] == lt) & (rows.close[z] > lc))
        wb, zb = w[better], z[better]
        c["last_t"][wb] = t[zb]
        c["last_c"][wb] = rows.close[zb]
        c["dirty"][wb] = True

        # extremes: windows share few distinct slices, so loop over distinct (a, b) pairs
        key = a * (len(t) + 1) + b
        uniq, inverse = np.unique(key, return_inverse=True)
        hi_v = np.empty(len(uniq))
        hi_j = np.empty(len(uniq), dtype=np.int64)
        lo_v = np.empty(len(uniq))
        lo_j = np.empty(len(uniq), dtype=np.int64)
        iv_v = np.empty(len(uniq), dtype=np.int64)
        for u, k in enumerate(uniq.tolist()):
            s, e = divmod(k, len(t) + 1)
            jh = s + int(np.argmax(rows.high[s:e]))
            jl = s + int(np.argmin(rows.low[s:e]))
            hi_v[u], hi_j[u] = rows.high[jh], jh
            lo_v[u], lo_j[u] = rows.low[jl], jl
            iv_v[u] = rows.interval_us[s:e].max()
        nh, nht = hi_v[inverse], t[hi_j[inverse]]
        cur, cur_t = c["hi"][w], c["hi_t"][w]
        better = (nh > cur) | ((nh == cur) & (nht < cur_t))
        c["hi"][w[better]] = nh[better]
        c["hi_t"][w[better]] = nht[better]
        c["dirty"][w[better]] = True
        nl, nlt = lo_v[inverse], t[lo_j[inverse]]
        cur, cur_t = c["lo"][w], c["lo_t"][w]
        better = (nl < cur) | ((nl == cur) & (nlt < cur_t))
        c["lo"][w[better]] = nl[better]
        c["lo_t"][w[better]] = nlt[better]
        c["dirty"][w[better]] = True
        coarser = iv_v[inverse] > c["max_iv"][w]
        c["max_iv"][w[coarser]] = iv_v[inverse][coarser]
        c["dirty"][w[coarser]] = True
