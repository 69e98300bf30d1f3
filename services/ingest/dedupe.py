"""Drops events already seen, remembering a bounded number of recent identities."""

from __future__ import annotations

from collections.abc import Hashable

from services.events import Announcement, Price


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


class RecentSet:
    """Membership of the `capacity` most recently added keys (oldest forgotten first)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._keys: dict[Hashable, None] = {}

    def add(self, key: Hashable) -> bool:
        """Remember `key`; False when it was already there."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            del self._keys[next(iter(self._keys))]
        return True

    def __len__(self) -> int:
        return len(self._keys)
