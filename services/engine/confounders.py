"""The anchors of the announcements an instrument has windows for, and each window's
confounders (DESIGN §4: the other announcements anchored inside it).

Nothing is copied into each window when an announcement arrives: a window computes its sorted
ids (and their JSON) once after its announcement set changed, when it next sends a revision,
and keeps them until the next change. The JSON of many windows is written in one compiled pass
(`compiled.confounders_json`) from each id's JSON, made once per set of anchors; a window's ids
are read back from its JSON only where they are asked for.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import orjson

from services.engine import compiled

if TYPE_CHECKING:
    from services.engine.windows import WindowStore


class Anchors:
    """Announcement ids of one instrument with their anchor times (µs); each id at most once.

    Kept in id order, so a window's confounders are the ids whose time falls inside it, read
    in that order by one comparison over arrays: no sort per window. Instruments that were given
    the same anchors in the same order share one state, and so each window's result: with many
    instruments on one calendar, a window's confounders are computed once, not per instrument.
    """

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._times_us: list[int] = []
        self._known: set[str] = set()
        self._state = _EMPTY
        # the times as an array and the ids' JSON, made again after an add
        self._encoded: _Encoded | None = None

    @property
    def state(self) -> int:
        """The same number for every `Anchors` given the same anchors in the same order."""
        return self._state

    def __contains__(self, announcement_id: object) -> bool:
        return announcement_id in self._known

    def __len__(self) -> int:
        return len(self._ids)

    def __getstate__(self) -> tuple[list[str], list[int]]:
        return self._ids, self._times_us

    def __setstate__(self, state: tuple[list[str], list[int]] | dict[str, Any]) -> None:
        """From a snapshot: a state number means nothing in another process, so this one
        shares nothing yet (a snapshot of an older version held a dict, ids in time order)."""
        ids, times_us = (state["_ids"], state["_times_us"]) if isinstance(state, dict) else state
        self.__init__()  # type: ignore[misc]
        self._state = _SHARED.fresh()
        pairs = sorted(zip(ids, times_us, strict=True))
        self._ids = [i for i, _ in pairs]
        self._times_us = [t for _, t in pairs]
        self._known = set(self._ids)

    def add(self, anchor_us: int, announcement_id: str) -> None:
        at = bisect.bisect_left(self._ids, announcement_id)
        self._ids.insert(at, announcement_id)
        self._times_us.insert(at, anchor_us)
        self._known.add(announcement_id)
        self._encoded = None
        self._state = _SHARED.after(self._state, anchor_us, announcement_id)

    def inside(self, start_us: int, end_us: int, exclude: str) -> tuple[str, ...]:
        """Sorted ids anchored in [start_us, end_us], without `exclude` (the window's own)."""
        return self.shared(start_us, end_us, exclude).ids

    def confounders(
        self, start_us: int, end_us: int, exclude: str, changes: int
    ) -> ConfounderCache:
        """`inside` with its JSON, for a window at change count `changes`."""
        found = self.shared(start_us, end_us, exclude)
        return ConfounderCache(changes, found.ids, json=found.json)

    def shared(self, start_us: int, end_us: int, exclude: str) -> ConfounderCache:
        """`inside` with its JSON, as every instrument with these anchors shares it (its
        change count means nothing)."""
        return self.shared_many([(start_us, end_us, exclude)])[0]

    def shared_many(self, windows: Sequence[tuple[int, int, str]]) -> list[ConfounderCache]:
        """`shared` of each (start µs, end µs, own id): those not found computed in one pass."""
        keys = [(self._state, *window) for window in windows]
        found = list(map(_SHARED.results.get, keys))
        missing = [k for k, cache in enumerate(found) if cache is None]
        if not missing:
            return found  # type: ignore[return-value]  # none is None
        if self._encoded is None:
            self._encoded = _Encoded(self._ids, self._times_us)
        encoded = self._encoded
        starts, ends, owns = zip(*(windows[k] for k in missing), strict=True)
        own = [encoded.index.get(exclude, -1) for exclude in owns]
        arrays = compiled.confounders_json(
            encoded.times_us,
            encoded.texts,
            encoded.text_ends,
            np.asarray(starts, dtype=np.int64),
            np.asarray(ends, dtype=np.int64),
            np.asarray(own, dtype=np.int64),
        )
        for k, json in zip(missing, arrays, strict=True):
            found[k] = _SHARED.keep(keys[k], ConfounderCache(0, json=json))
        return found  # type: ignore[return-value]  # each filled


class _Encoded:
    """An `Anchors`' times as an array and its ids' JSON texts, end to end, and where each id
    is among them."""

    __slots__ = ("index", "text_ends", "texts", "times_us")

    def __init__(self, ids: list[str], times_us: list[int]) -> None:
        texts = [orjson.dumps(i) for i in ids]
        self.texts = b"".join(texts)
        self.text_ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
        self.times_us = np.asarray(times_us, dtype=np.int64)
        self.index = {i: k for k, i in enumerate(ids)}


class ConfounderCache:
    """A window's confounders and their JSON, valid while its change count stays the same.

    `changes` is that count where the cache is the window's own; a result shared by windows
    (`Anchors.shared`) says 0, and the window store's `confounders_at` column keeps each
    window's count."""

    __slots__ = ("_ids", "changes", "json")

    def __init__(
        self, changes: int, ids: tuple[str, ...] | None = None, *, json: bytes | None = None
    ) -> None:
        """From the ids, or from their JSON (then the ids are read from it when asked for)."""
        self.changes = changes
        self._ids = ids
        if json is None:
            if ids is None:
                raise ValueError("a window's confounders need their ids or their JSON")
            json = orjson.dumps(ids)
        self.json: bytes = json

    @property
    def ids(self) -> tuple[str, ...]:
        if self._ids is None:
            self._ids = tuple(orjson.loads(self.json))
        return self._ids

    def __reduce__(self) -> tuple[type[ConfounderCache], tuple[int, tuple[str, ...]]]:
        return ConfounderCache, (self.changes, self.ids)  # the JSON is made again


class _SharedResults:
    """States of `Anchors` (the same anchors added in the same order have the same state) and
    the confounders computed in each, bounded: past `LIMIT` results, all are forgotten."""

    LIMIT = 1 << 16

    def __init__(self) -> None:
        self._next = itertools.count()
        self._states: dict[tuple[int, int, str], int] = {}
        self.results: dict[tuple[int, int, int, str], ConfounderCache] = {}

    def fresh(self) -> int:
        return next(self._next)

    def after(self, state: int, anchor_us: int, announcement_id: str) -> int:
        key = (state, anchor_us, announcement_id)
        found = self._states.get(key)
        if found is None:
            if len(self._states) >= self.LIMIT:
                self._states.clear()  # later states are new numbers: nothing is mistaken
            found = self._states[key] = self.fresh()
        return found

    def keep(self, key: tuple[int, int, int, str], result: ConfounderCache) -> ConfounderCache:
        if len(self.results) >= self.LIMIT:
            self.results.clear()
        self.results[key] = result
        return result

    def forget(self) -> None:
        """Every state and result forgotten (later states are new numbers, as after `LIMIT`)."""
        self._states.clear()
        self.results.clear()


_SHARED = _SharedResults()
_EMPTY = _SHARED.fresh()


def forget_shared() -> None:
    """Forgets the confounders shared between engines of this process, as a new process has
    none: a benchmark's rounds each pay for them as its first does."""
    _SHARED.forget()


def confounder_caches(store: WindowStore, positions: npt.NDArray[np.intp]) -> list[ConfounderCache]:
    """The confounders of the windows at `positions` of `store` (of any instruments), computed
    again only for those whose announcement set changed since they were last computed (as
    `WindowTable.confounders`, for many windows at once)."""
    cols = store.cols
    changes = cols["confounder_changes"][positions]
    stale = np.flatnonzero(cols["confounders_at"][positions] != changes)
    if len(stale):
        at = positions[stale]
        found = _shared_by_windows(store, at)
        cols["confounders"][at] = np.fromiter(found, dtype=object, count=len(found))
        cols["confounders_at"][at] = changes[stale]
    caches: list[ConfounderCache] = cols["confounders"][positions].tolist()
    return caches


def _shared_by_windows(store: WindowStore, at: npt.NDArray[np.intp]) -> list[ConfounderCache]:
    """The confounders of the windows at `at`: looked up once for all the windows of one
    announcement with one end on instruments with the same anchors (they share the result)."""
    cols = store.cols
    codes = cols["inst"][at]
    tables = store.tables
    present = np.flatnonzero(np.bincount(codes))
    state_of = np.zeros(int(present[-1]) + 1, dtype=np.int64)
    state_of[present] = [tables[code].anchors.state for code in present.tolist()]
    state, announcement, end_us = state_of[codes], cols["announcement_code"][at], cols["end_us"][at]
    # the windows sorted by (anchors, announcement, end), each group's first where it starts
    order = np.lexsort((end_us, announcement, state))
    starts = np.zeros(len(order), dtype=np.bool_)
    starts[:1] = True
    for key in (state, announcement, end_us):
        ordered = key[order]
        starts[1:] |= ordered[1:] != ordered[:-1]
    first = order[starts]
    group = np.empty(len(order), dtype=np.int64)
    group[order] = np.cumsum(starts) - 1
    ids = store.announcement_ids.texts
    windows = zip(
        state[first].tolist(),
        *(cols[name][at[first]].tolist() for name in ("inst", "anchor_us", "end_us")),
        map(ids.__getitem__, announcement[first].tolist()),
        strict=True,
    )
    found: list[ConfounderCache] = []
    # in order of anchors: those of one state computed together, by any of its instruments
    for _, alike in itertools.groupby(windows, key=lambda window: window[0]):
        alike_windows = list(alike)
        anchors = tables[alike_windows[0][1]].anchors
        found += anchors.shared_many([window[2:] for window in alike_windows])
    return list(map(found.__getitem__, group.tolist()))
