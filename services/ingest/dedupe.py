"""Drops events already seen, remembering a bounded number of recent identities."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from itertools import islice
from typing import Protocol

from services.events import Announcement, Price
from services.ingest.types import Recent


def announcement_identity(event: Announcement) -> Hashable:
    return event.id


def price_identity(event: Price) -> Hashable:
    """Same instrument, time and values: the same event."""
    return (
        event.instrument,
        event.ts,
        event.price,
        event.open,
        event.high,
        event.low,
        event.close,
        event.interval,
        event.volume,
    )


class DedupeWindow(Protocol):
    """The recent identities of a topic's events, each tagged with its partition."""

    def add_all(self, keys: Iterable[Hashable], tags: Iterable[int]) -> list[bool]:
        """Remember each key with its tag, in order; False where it was already there."""
        ...

    def tagged(self, tag: int, *, before: int | None = None) -> Recent:
        """The keys remembered with `tag`, oldest first (what a checkpoint saves); with
        `before` (a `mark`), only those added before it."""
        ...

    def mark(self) -> int:
        """How many keys were added so far (the next key's number)."""
        ...


class RecentSet:
    """Membership of the `capacity` most recently added keys (oldest forgotten first), each
    with a tag (the partition it came on, so a checkpoint saves that partition's share).

    O(1) per key whatever the fill: a dict answers membership and a queue of the same keys, in
    the order they came, names the one to forget. (Evicting a dict's first key instead costs
    a scan over the slots its earlier deletions left, once per key when the window is full.)"""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._keys: dict[Hashable, int] = {}
        self._order: deque[Hashable] = deque()
        self._added = 0

    def add(self, key: Hashable, tag: int = 0) -> bool:
        """Remember `key`; False when it was already there."""
        return self.add_all((key,), (tag,))[0]

    def add_all(self, keys: Iterable[Hashable], tags: Iterable[int]) -> list[bool]:
        """`add` of each key with its tag, in order: a key repeated is new only the first time."""
        known, order, capacity = self._keys, self._order, self._capacity
        new: list[bool] = []
        for key, tag in zip(keys, tags, strict=True):
            if key in known:
                new.append(False)
                continue
            if len(order) == capacity:
                del known[order.popleft()]
            known[key] = tag
            order.append(key)
            new.append(True)
        self._added += sum(new)
        return new

    def __len__(self) -> int:
        return len(self._keys)

    def tagged(self, tag: int, *, before: int | None = None) -> list[Hashable]:
        """The keys remembered with `tag`, oldest first; with `before`, those added before
        that mark (the newest keys are the end of the queue)."""
        keys, order = self._keys, self._order
        later = 0 if before is None else max(0, self._added - before)
        held = islice(order, max(0, len(order) - later))
        return [key for key in held if keys[key] == tag]

    def mark(self) -> int:
        return self._added
