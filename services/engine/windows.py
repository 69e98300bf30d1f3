"""Open reaction windows of all instruments as one set of column arrays (`WindowStore`), and
each instrument's view of its own rows (`WindowTable`).

One table for every instrument lets a batch fold its prices into the windows of all the
instruments it touches, and decide which windows send a revision, in one vectorised pass
(fold.py, revise.py) instead of a fixed cost per instrument.

Columns grow by doubling and retired windows stay in place as dead rows until they outnumber
the live ones, so neither opening nor retiring a window copies or re-indexes the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.confounders import Anchors, ConfounderCache
from services.engine.history import NO_TIME
from services.engine.names import Coded, Interned
from services.engine.ranges import first_argmax
from services.engine.waiting import pending_bases

I64 = npt.NDArray[np.int64]
Positions = npt.NDArray[np.intp]
LATEST = 2**62

# name → (dtype, initial value)
_COLUMNS: dict[str, tuple[type, float | int | bool | None]] = {
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
    # its confounders (a `ConfounderCache`, shared by windows with the same), and the change
    # count they were computed at
    "confounders": (object, None),
    "confounders_at": (np.int64, -1),
    # the fields of the last final revision sent (a Mapping; confounders as a tuple of ids)
    "last_sent": (object, None),
    # False once retired: the row waits, ignored, for the next compaction
    "alive": (np.bool_, True),
    # the instrument's code in the store (its position in the registry)
    "inst": (np.int64, 0),
    # the codes of its announcement id and horizon in the store's `Interned` of each
    "announcement_code": (np.int64, 0),
    "horizon_code": (np.int64, 0),
}
CARRIED = ("confounders", "last_sent")
"""Object columns a snapshot carries in each window's `WindowMeta` (its format since 2)."""
STATIC = ("anchor_us", "base_cut_us", "end_us", "duration_us", "at_open", "session", "sessions_k")
CODED = ("announcement_code", "horizon_code")


class WindowMeta:
    """A window's identity as text; in a snapshot, with its `CARRIED` objects too (the store
    keeps the live ones in its columns, so reading them costs no object per window)."""

    __slots__ = ("announcement_id", "confounders", "horizon", "last_sent")

    def __init__(self, announcement_id: str, horizon: str) -> None:
        self.announcement_id = announcement_id
        self.horizon = horizon
        self.last_sent: Mapping[str, Any] | None = None
        """The fields of the last revision sent (confounders as a tuple of ids)."""
        self.confounders: ConfounderCache | None = None


_ANNOUNCEMENT_ID = attrgetter("announcement_id")
_HORIZON = attrgetter("horizon")


class WindowStore:
    """The windows of every instrument, one row each; rows of an instrument are not contiguous.

    A row's position is stable until a compaction, which renumbers every live row in order and
    re-indexes every instrument's table (amortised: it runs once dead rows outnumber live ones).
    """

    def __init__(self) -> None:
        self._storage: dict[str, npt.NDArray[Any]] = {
            name: np.full(16, initial, dtype=dtype) for name, (dtype, initial) in _COLUMNS.items()
        }
        self.cols: dict[str, npt.NDArray[Any]] = {n: c[:0] for n, c in self._storage.items()}
        # each window's WindowMeta (its identity is coded in `cols`: revisions are sent as codes)
        self._metas: npt.NDArray[np.object_] = np.empty(16, dtype=object)
        self.meta: npt.NDArray[np.object_] = self._metas[:0]
        self.tables: dict[int, WindowTable] = {}
        self.announcement_ids = Interned()
        self.horizons = Interned()
        self._dead = 0
        self.latest_base: tuple[I64, npt.NDArray[np.float64]] | None = None
        """By instrument code, the base of its windows still waiting for their anchor
        (time, close: waiting.py), where an engine keeps them; None where each window's own
        columns hold its base."""

    def __len__(self) -> int:
        """Live windows."""
        return len(self.meta) - self._dead

    def table(self, code: int) -> WindowTable:
        """A new, empty table for instrument `code`; the rows of its previous one are retired."""
        old = self.tables.get(code)
        if old is not None and len(old):
            self.retire(old.positions())
        table = WindowTable(self, code)
        self.tables[code] = table
        return table

    def attach(self, code: int, detached: WindowTable) -> WindowTable:
        """A table for instrument `code` holding the windows of `detached` (from a snapshot)."""
        table = self.table(code)
        table.anchors = detached.anchors
        positions = detached.positions()
        columns = {name: detached.cols[name][positions] for name in _COLUMNS if name != "inst"}
        table.add([detached.meta[p] for p in positions.tolist()], columns)
        return table

    def add(
        self, code: int | I64, metas: list[WindowMeta], values: dict[str, Any], coded: bool = False
    ) -> range:
        """Append windows of instrument `code` (or of each window's code); columns missing
        from `values` start empty; `coded`: `values` holds the codes of their announcement ids
        and horizons in this store. The instruments' tables are not told (`WindowTable.adopt`)."""
        start = len(self.meta)
        size = start + len(metas)
        if size > len(self._storage["alive"]):
            self._grow(max(2 * size, 16))
        for name, (_, initial) in _COLUMNS.items():
            value = values.get(name, initial)
            if name in CARRIED and value is not None:  # objects: each taken as it is
                value = np.fromiter(value, dtype=object, count=len(metas))
            self._storage[name][start:size] = value
        self._storage["inst"][start:size] = code
        # from an array: numpy reads a list's items as possible sequences, one by one
        self._metas[start:size] = np.fromiter(metas, dtype=object, count=len(metas))
        if not coded:  # codes into this store's strings (a snapshot's mean nothing here)
            ids = self.announcement_ids.codes(map(_ANNOUNCEMENT_ID, metas))
            self._storage["announcement_code"][start:size] = ids
            self._storage["horizon_code"][start:size] = self.horizons.codes(map(_HORIZON, metas))
        self._view(size)
        return range(start, size)

    def add_anchors(
        self, codes: I64, anchors_us: I64, order: I64, windows: Positions, opened: I64
    ) -> None:
        """New announcements anchored at `anchors_us` on the instruments `codes` (`order`: each
        one's place among them, ascending): each of `windows` that holds one of its instrument
        coming after its own announcement (`opened`: that one's place, -1 for a window open
        before them) gains a confounder (the caller adds them to each one's `Anchors`)."""
        if not len(windows):
            return
        cols = self.cols
        window_code = cols["inst"][windows]
        start_us, end_us = cols["anchor_us"][windows], cols["end_us"][windows]
        times = np.unique(anchors_us)
        if len(times) == 1:  # one anchor time (the live case): each instrument's latest order
            latest_of = np.full(int(max(codes.max(), window_code.max())) + 1, -2, dtype=np.int64)
            np.maximum.at(latest_of, codes, order)
            holding = (start_us <= times[0]) & (end_us >= times[0])
            gained = windows[holding & (latest_of[window_code] > opened)]
        else:
            # anchors by (instrument, time), each time as its rank among them (small keys);
            # a window's are those of its instrument from the first rank inside it to the last
            span = len(times) + 2
            key = codes * span + np.searchsorted(times, anchors_us) + 1
            by_key = np.argsort(key, kind="stable")
            key, order = key[by_key], order[by_key]
            first = np.searchsorted(times, start_us, "left") + 1
            last = np.searchsorted(times, end_us, "right")
            start = np.searchsorted(key, window_code * span + first, "left")
            stop = np.searchsorted(key, window_code * span + last, "right")
            some = np.flatnonzero(stop > start)
            latest = order[first_argmax(order, start[some], stop[some])]
            gained = windows[some[latest > opened[some]]]
        cols["confounder_changes"][gained] += 1
        cols["dirty"][gained] = True

    def keys(self, positions: Positions) -> list[tuple[str, str]]:
        """The (announcement id, horizon) of the windows at `positions`."""
        cols = self.cols
        return list(
            zip(
                Coded(self.announcement_ids, cols["announcement_code"][positions]).tolist(),
                Coded(self.horizons, cols["horizon_code"][positions]).tolist(),
                strict=True,
            )
        )

    def retire(self, positions: Positions) -> None:
        """Drop the windows at `positions`; compacts once dead rows outnumber live ones."""
        cols = self.cols
        cols["alive"][positions] = False
        # a dead row never looks due: final, clean, not held
        cols["final"][positions] = True
        cols["dirty"][positions] = False
        cols["held"][positions] = False
        keys = self.keys(positions)
        codes: list[int] = cols["inst"][positions].tolist()
        tables = {code: self.tables[code] for code in set(codes)}
        indexes = map({code: table.index for code, table in tables.items()}.__getitem__, codes)
        for index, key, pos in zip(indexes, keys, positions.tolist(), strict=True):
            found = index.pop(key, pos)
            if found != pos:  # a newer window of the same key: kept
                index[key] = found
        for table in tables.values():
            table.moved()
        self._dead += len(positions)
        if self._dead > max(len(self), 64):
            self._compact()

    def _grow(self, capacity: int) -> None:
        size = len(self.meta)
        for name, column in self._storage.items():
            grown = np.empty(capacity, dtype=column.dtype)
            grown[:size] = column[:size]
            self._storage[name] = grown
        metas = np.empty(capacity, dtype=object)
        metas[:size] = self._metas[:size]
        self._metas = metas

    def _view(self, size: int) -> None:
        """`cols`: each column up to the last window (views of the storage)."""
        self.cols = {name: column[:size] for name, column in self._storage.items()}
        self.meta = self._metas[:size]

    def _compact(self) -> None:
        keep = self.cols["alive"].copy()
        size = int(keep.sum())
        for name, column in self._storage.items():
            column[:size] = self.cols[name][keep]
        self._metas[:size] = self._metas[: len(keep)][keep]
        # let the retired windows' objects go
        self._metas[size : len(keep)] = None
        for name in CARRIED:
            self._storage[name][size : len(keep)] = None
        self._dead = 0
        self._view(size)
        for table in self.tables.values():
            table.index.clear()
            table.moved()
        for pos, (meta, code) in enumerate(zip(self.meta, self.cols["inst"].tolist(), strict=True)):
            self.tables[code].index[(meta.announcement_id, meta.horizon)] = pos


class WindowTable:
    """One instrument's windows: its rows of a `WindowStore`, by (announcement, horizon).

    `cols` and `meta` are the whole store's, addressed by the positions in `index`. A table made
    on its own (or unpickled from a snapshot) has a store of its own."""

    def __init__(self, store: WindowStore | None = None, code: int = 0) -> None:
        if store is None:
            store = WindowStore()
            store.tables[code] = self
        self.store = store
        self.code = code
        self.index: dict[tuple[str, str], int] = {}
        self.anchors = Anchors()
        self._positions: Positions | None = None

    @property
    def cols(self) -> dict[str, npt.NDArray[Any]]:
        return self.store.cols

    @property
    def meta(self) -> npt.NDArray[np.object_]:
        return self.store.meta

    def __len__(self) -> int:
        """Live windows."""
        return len(self.index)

    def positions(self) -> Positions:
        """Where the live windows are, in the order they opened."""
        if self._positions is None:
            live = np.fromiter(self.index.values(), dtype=np.intp, count=len(self.index))
            self._positions = np.sort(live)
        return self._positions

    def moved(self) -> None:
        """The index changed: positions are computed again when next asked for."""
        self._positions = None

    def live(self) -> Positions:
        return self.positions()

    def add(self, metas: list[WindowMeta], values: dict[str, Any]) -> range:
        """Append windows (aggregates empty unless `values` has them; static columns needed)."""
        added = self.store.add(self.code, metas, values)
        self.adopt(added, metas)
        return added

    def adopt(self, added: range, metas: list[WindowMeta]) -> None:
        """Index windows of this instrument just added to the store at `added`."""
        for pos, meta in zip(added, metas, strict=True):
            self.index[(meta.announcement_id, meta.horizon)] = pos
        self.moved()

    def retire(self, positions: Positions) -> None:
        self.store.retire(positions)

    def confounders(self, pos: int) -> ConfounderCache:
        """The confounders of window `pos`, computed again only after they changed."""
        cols = self.cols
        changes = int(cols["confounder_changes"][pos])
        cached: ConfounderCache | None = cols["confounders"][pos]
        if cached is None or cols["confounders_at"][pos] != changes:
            cached = cols["confounders"][pos] = self.anchors.confounders(
                int(cols["anchor_us"][pos]),
                int(cols["end_us"][pos]),
                self.meta[pos].announcement_id,
                changes,
            )
            cols["confounders_at"][pos] = changes
        return cached

    # a snapshot holds the table's own rows, not the store's
    def __getstate__(self) -> dict[str, Any]:
        positions = self.positions()
        columns = {n: self.cols[n][positions] for n in _COLUMNS if n not in ("inst", *CARRIED)}
        latest = self.store.latest_base
        if latest is not None:  # each window with its base, wherever it waits
            pending_bases(columns, int(latest[0][self.code]), float(latest[1][self.code]))
        metas: list[WindowMeta] = []
        carried = zip(*(self.cols[name][positions].tolist() for name in CARRIED), strict=True)
        for meta, (confounders, last_sent) in zip(self.meta[positions], carried, strict=True):
            metas.append(copy := WindowMeta(meta.announcement_id, meta.horizon))
            copy.confounders, copy.last_sent = confounders, last_sent
        return {"columns": columns, "meta": metas, "anchors": self.anchors}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "_storage" in state:  # snapshot format 2: the table owned its columns
            alive = state["cols"]["alive"]
            columns = {name: column[alive] for name, column in state["cols"].items()}
            metas = [m for m, a in zip(state["meta"], alive.tolist(), strict=True) if a]
        else:
            columns, metas = state["columns"], state["meta"]
        columns |= {name: [getattr(m, name) for m in metas] for name in CARRIED}
        self.__init__()  # type: ignore[misc]
        self.anchors = state["anchors"]
        self.add(metas, columns)
