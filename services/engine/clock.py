"""Processing-time clocks: the system one for live use and for `replay` (whose revisions are
stamped with the time it ran), and a manual one for tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    """The process's monotonic clock and the UTC wall clock."""

    def monotonic_s(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime | None = None, monotonic_s: float = 0.0) -> None:
        self._now = start or datetime(2000, 1, 1, tzinfo=UTC)
        self._monotonic_s = monotonic_s

    def monotonic_s(self) -> float:
        return self._monotonic_s

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move both the monotonic and the wall time forward."""
        self._monotonic_s += seconds
        self._now += timedelta(seconds=seconds)
