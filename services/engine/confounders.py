"""The anchors of the announcements an instrument has windows for, kept sorted by time.

A window's confounders (DESIGN §4) are the other announcements anchored inside it, so they are
a slice of this list: nothing is copied into each window when an announcement arrives, and a
window computes its sorted ids (and their JSON) only when it sends a revision after a change.
"""

from __future__ import annotations

import bisect

import orjson


class Anchors:
    """Announcement ids of one instrument by anchor time (µs); each id at most once."""

    def __init__(self) -> None:
        self._times_us: list[int] = []
        self._ids: list[str] = []
        self._known: set[str] = set()

    def __contains__(self, announcement_id: object) -> bool:
        return announcement_id in self._known

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, anchor_us: int, announcement_id: str) -> None:
        # after equal times, so ids anchored at one instant keep their arrival order
        at = bisect.bisect_right(self._times_us, anchor_us)
        self._times_us.insert(at, anchor_us)
        self._ids.insert(at, announcement_id)
        self._known.add(announcement_id)

    def inside(self, start_us: int, end_us: int, exclude: str) -> tuple[str, ...]:
        """Sorted ids anchored in [start_us, end_us], without `exclude` (the window's own)."""
        first = bisect.bisect_left(self._times_us, start_us)
        stop = bisect.bisect_right(self._times_us, end_us)
        return tuple(sorted(i for i in self._ids[first:stop] if i != exclude))


class ConfounderCache:
    """A window's confounders and their JSON, valid while its change count stays the same."""

    __slots__ = ("changes", "ids", "json")

    def __init__(self, changes: int, ids: tuple[str, ...]) -> None:
        self.changes = changes
        self.ids = ids
        self.json = orjson.Fragment(orjson.dumps(ids))

    def __reduce__(self) -> tuple[type[ConfounderCache], tuple[int, tuple[str, ...]]]:
        return ConfounderCache, (self.changes, self.ids)  # a Fragment does not pickle
