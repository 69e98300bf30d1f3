"""The small interfaces the engine depends on, so each part can be replaced in tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol


class Clock(Protocol):
    """Processing time: monotonic seconds for grace periods, wall time for `emitted_at`.

    Never compared with event time.
    """

    def monotonic_s(self) -> float: ...

    def now(self) -> datetime: ...


class TradingCalendar(Protocol):
    """A market's sessions; every time is integer microseconds since the epoch, UTC."""

    code: str
    """exchange_calendars code (e.g. "XKRX") or "always-open"."""

    def is_open(self, t_us: int) -> bool: ...

    def anchor(self, t_us: int, *, day_precision: bool) -> tuple[int, int, bool]:
        """(anchor_us, session index, whether the window starts at an open) per DESIGN §4."""
        ...

    def session_open_us(self, session: int) -> int: ...

    def session_close_us(self, session: int) -> int: ...

    def session_of_close(self, t_us: int) -> int:
        """Index of the session whose [open, close] holds `t_us`, or -1."""
        ...

    def session_by_date(self, day: date) -> int:
        """Index of the session labelled `day` (exchange-local date), or -1."""
        ...

    def add_trading_us(self, t_us: int, duration_us: int) -> int:
        """`t_us` plus `duration_us` of trading time, skipping closures and breaks."""
        ...

    def session_fractions(self, start_us: int, end_us: int) -> float:
        """Trading time in (start, end] as a number of sessions (each counted by its own length)."""
        ...

    def closed_after(self, t_us: int, tolerance_us: int) -> tuple[bool, int]:
        """(market closes within `tolerance_us` of trading time after `t_us`, next open after)."""
        ...

    def local_date(self, t_us: int) -> date: ...
