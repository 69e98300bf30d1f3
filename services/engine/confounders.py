"""The anchors of the announcements an instrument has windows for, and each window's
confounders (DESIGN §4: the other announcements anchored inside it).

Nothing is copied into each window when an announcement arrives: a window computes its sorted
ids (and their JSON) once after its announcement set changed, when it next sends a revision,
and keeps them until the next change.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import orjson

if TYPE_CHECKING:
    from services.engine.windows import WindowMeta, WindowTable


class Anchors:
    """Announcement ids of one instrument with their anchor times (µs); each id at most once.

    Kept in id order, so a window's confounders are the ids whose time falls inside it, read
    in that order by one comparison over arrays: no sort per window."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._times_us: list[int] = []
        self._known: set[str] = set()
        # the lists as arrays, made again after an add
        self._arrays: tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]] | None = None

    def __contains__(self, announcement_id: object) -> bool:
        return announcement_id in self._known

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, anchor_us: int, announcement_id: str) -> None:
        at = bisect.bisect_left(self._ids, announcement_id)
        self._ids.insert(at, announcement_id)
        self._times_us.insert(at, anchor_us)
        self._known.add(announcement_id)
        self._arrays = None

    def inside(self, start_us: int, end_us: int, exclude: str) -> tuple[str, ...]:
        """Sorted ids anchored in [start_us, end_us], without `exclude` (the window's own)."""
        if self._arrays is None:
            self._arrays = (
                np.asarray(self._ids, dtype=np.object_),
                np.asarray(self._times_us, dtype=np.int64),
            )
        ids, times_us = self._arrays
        held = (times_us >= start_us) & (times_us <= end_us)
        own = bisect.bisect_left(self._ids, exclude)
        if own < len(self._ids) and self._ids[own] == exclude:
            held[own] = False
        return tuple(ids[held].tolist())


class ConfounderCache:
    """A window's confounders and their JSON text, valid while its change count stays the same."""

    __slots__ = ("changes", "ids", "json")

    def __init__(self, changes: int, ids: tuple[str, ...]) -> None:
        self.changes = changes
        self.ids = ids
        self.json: str = orjson.dumps(ids).decode()

    def __reduce__(self) -> tuple[type[ConfounderCache], tuple[int, tuple[str, ...]]]:
        return ConfounderCache, (self.changes, self.ids)  # the JSON is made again


def confounder_caches(
    table: WindowTable, positions: npt.NDArray[np.intp], metas: list[WindowMeta]
) -> list[ConfounderCache]:
    """The confounders of the windows at `positions` (their `metas`), computed again only for
    those whose announcement set changed since they were last computed."""
    changes: list[int] = table.cols["confounder_changes"][positions].tolist()
    caches = [m.confounders for m in metas]
    out: list[ConfounderCache] = []
    for j, (cache, count) in enumerate(zip(caches, changes, strict=True)):
        out.append(
            cache
            if cache is not None and cache.changes == count
            else table.confounders(int(positions[j]))
        )
    return out
