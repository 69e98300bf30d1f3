"""Trading calendars as sorted arrays of sessions: XKRX via exchange_calendars, or always open.

Times are integer microseconds since the epoch (UTC). A session trades in [open, close), minus
any break; trading-time arithmetic walks the "segments" (open→break, break→close) and skips
everything between them.
"""

from __future__ import annotations

import warnings
from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from services.engine import calendar_cache
from services.engine.exceptions import CalendarError
from services.frames import from_us

ALWAYS_OPEN = "always-open"
_DAY_US = 86_400_000_000
_EPOCH = date(1970, 1, 1)

I64 = npt.NDArray[np.int64]


class SessionCalendar:
    """A bounded range of sessions held as arrays; satisfies `TradingCalendar`."""

    def __init__(
        self,
        code: str,
        tz: str,
        labels: list[date],
        opens_us: I64,
        closes_us: I64,
        breaks_us: list[tuple[int, int] | None],
    ) -> None:
        if len(labels) == 0:
            raise CalendarError(f"calendar {code!r} has no sessions in range")
        self.code = code
        self.tz = ZoneInfo(tz)
        self.labels = [d.toordinal() for d in labels]
        self.opens_us = opens_us
        self.closes_us = closes_us
        starts: list[int] = []
        ends: list[int] = []
        sessions: list[int] = []
        for i, (o, c, b) in enumerate(
            zip(opens_us.tolist(), closes_us.tolist(), breaks_us, strict=True)
        ):
            spans = [(o, b[0]), (b[1], c)] if b else [(o, c)]
            for s, e in spans:
                starts.append(s)
                ends.append(e)
                sessions.append(i)
        self.seg_start = starts
        self.seg_end = ends
        self.seg_session = sessions
        self.session_first_seg = [0] * len(labels)
        for k in range(len(sessions) - 1, -1, -1):
            self.session_first_seg[sessions[k]] = k
        lengths = [e - s for s, e in zip(starts, ends, strict=True)]
        self.seg_cum = [0, *np.cumsum(lengths).tolist()]
        self.session_len_us = [0] * len(labels)
        for k, length in enumerate(lengths):
            self.session_len_us[sessions[k]] += length
        self._closes_np = closes_us
        self._opens_np = opens_us

    # --- lookups -------------------------------------------------------------------------
    def _segment_at_or_before(self, t_us: int) -> int:
        return bisect_right(self.seg_start, t_us) - 1

    def _check(self, k: int, t_us: int) -> None:
        if k >= len(self.seg_start):
            raise CalendarError(f"{from_us(t_us).isoformat()} is beyond calendar {self.code!r}")

    def is_open(self, t_us: int) -> bool:
        k = self._segment_at_or_before(t_us)
        return k >= 0 and t_us < self.seg_end[k]

    def anchor(self, t_us: int, *, day_precision: bool) -> tuple[int, int, bool]:
        if day_precision:
            s = bisect_left(self.labels, self.local_date(t_us).toordinal())
            self._check(s, t_us)
            return int(self.opens_us[s]), s, self._reopens(self.session_first_seg[s])
        k = self._segment_at_or_before(t_us)
        if k >= 0 and t_us < self.seg_end[k]:
            return t_us, self.seg_session[k], t_us == self.seg_start[k] and self._reopens(k)
        k += 1
        self._check(k, t_us)
        return self.seg_start[k], self.seg_session[k], self._reopens(k)

    def _reopens(self, k: int) -> bool:
        """Whether segment k starts after a closure (so a window starting there has a gap)."""
        return k == 0 or self.seg_start[k] > self.seg_end[k - 1]

    def session_open_us(self, session: int) -> int:
        if session >= len(self.labels):
            raise CalendarError(f"session {session} is beyond calendar {self.code!r}")
        return int(self.opens_us[session])

    def session_close_us(self, session: int) -> int:
        if session >= len(self.labels):
            raise CalendarError(f"session {session} is beyond calendar {self.code!r}")
        return int(self.closes_us[session])

    def session_of_close(self, t_us: int) -> int:
        s = int(np.searchsorted(self._closes_np, t_us, side="left"))
        if s < len(self.labels) and self.opens_us[s] <= t_us:
            return s
        return -1

    def sessions_of(self, t_us: I64) -> I64:
        """Vectorised `session_of_close`: -1 where a time is outside every session."""
        s = np.searchsorted(self._closes_np, t_us, side="left")
        inside = s < len(self.labels)
        s_safe = np.where(inside, s, 0)
        ok = inside & (self._opens_np[s_safe] <= t_us)
        return np.where(ok, s_safe, -1).astype(np.int64)

    def closes_by_dates(self, days: I64) -> I64:
        """Session close for each exchange-local date ordinal, -1 where it is not a session."""
        labels = np.asarray(self.labels, dtype=np.int64)
        s = np.searchsorted(labels, days, side="left")
        s_safe = np.minimum(s, len(labels) - 1)
        ok = (s < len(labels)) & (labels[s_safe] == days)
        return np.where(ok, self._closes_np[s_safe], -1).astype(np.int64)

    def session_by_date(self, day: date) -> int:
        s = bisect_left(self.labels, day.toordinal())
        return s if s < len(self.labels) and self.labels[s] == day.toordinal() else -1

    def local_date(self, t_us: int) -> date:
        return from_us(t_us).astimezone(self.tz).date()

    # --- trading time --------------------------------------------------------------------
    def _coord(self, t_us: int) -> int:
        k = self._segment_at_or_before(t_us)
        if k < 0:
            return 0
        return int(
            self.seg_cum[k] + min(t_us - self.seg_start[k], self.seg_end[k] - self.seg_start[k])
        )

    def add_trading_us(self, t_us: int, duration_us: int) -> int:
        target = self._coord(t_us) + duration_us
        # first segment whose cumulative end reaches the target (landing on a close stays there)
        k = bisect_left(self.seg_cum, target, lo=1) - 1
        self._check(k, t_us)
        return int(self.seg_start[k] + (target - self.seg_cum[k]))

    def session_fractions(self, start_us: int, end_us: int) -> float:
        total = 0.0
        k = max(self._segment_at_or_before(start_us), 0)
        while k < len(self.seg_start) and self.seg_start[k] < end_us:
            lo = max(start_us, self.seg_start[k])
            hi = min(end_us, self.seg_end[k])
            if hi > lo:
                total += (hi - lo) / self.session_len_us[self.seg_session[k]]
            k += 1
        return total

    def closed_after(self, t_us: int, tolerance_us: int) -> tuple[bool, int]:
        k = self._segment_at_or_before(t_us)
        if k + 1 >= len(self.seg_start):
            return True, 2**62
        if k < 0:
            return True, self.seg_start[0]
        next_open = self.seg_start[k + 1]
        closure = next_open > self.seg_end[k]
        return closure and self.seg_end[k] - t_us <= tolerance_us, next_open


@lru_cache(maxsize=16)
def get_calendar(code: str, start: date, end: date) -> SessionCalendar:
    """Build a calendar once per process, from the disk cache when it has it (calendar_cache)."""
    if code == ALWAYS_OPEN:
        return _always_open(start, end)
    schedule = calendar_cache.load(code, start, end)
    if schedule is None:
        schedule = _exchange_schedule(code, start, end)
        calendar_cache.save(code, start, end, schedule)
    has_break = (schedule.break_starts_us != calendar_cache.NO_BREAK) & (
        schedule.break_ends_us != calendar_cache.NO_BREAK
    )
    breaks: list[tuple[int, int] | None] = [
        (bs, be) if brk else None
        for bs, be, brk in zip(
            schedule.break_starts_us.tolist(),
            schedule.break_ends_us.tolist(),
            has_break.tolist(),
            strict=True,
        )
    ]
    labels = [date.fromordinal(d) for d in schedule.labels.tolist()]
    return SessionCalendar(code, schedule.tz, labels, schedule.opens_us, schedule.closes_us, breaks)


def _exchange_schedule(code: str, start: date, end: date) -> calendar_cache.Schedule:
    """The sessions of exchange_calendars' `code` (seconds of CPU for XKRX)."""
    import exchange_calendars as xcals

    try:
        with warnings.catch_warnings():
            # exchange_calendars 4.13 trips pandas' deprecation of Series.values on tz data
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            cal = xcals.get_calendar(code, start=start.isoformat(), end=end.isoformat())
            sched = cal.schedule
    except (xcals.errors.InvalidCalendarName, ValueError) as exc:
        raise CalendarError(f"calendar {code!r}: {exc}") from exc

    def micros(column: str) -> I64:
        times = sched[column].to_numpy(dtype="datetime64[us]")
        out: I64 = np.where(np.isnat(times), calendar_cache.NO_BREAK, times.astype(np.int64))
        return out

    return calendar_cache.Schedule(
        tz=str(cal.tz),
        labels=np.array([ts.date().toordinal() for ts in sched.index], dtype=np.int64),
        opens_us=micros("open"),
        closes_us=micros("close"),
        break_starts_us=micros("break_start"),
        break_ends_us=micros("break_end"),
    )


def _always_open(start: date, end: date) -> SessionCalendar:
    """UTC days as sessions with no closure between them."""
    days = (end - start).days + 1
    labels = [start + timedelta(days=i) for i in range(days)]
    first_us = (start - _EPOCH).days * _DAY_US
    opens = first_us + np.arange(days, dtype=np.int64) * _DAY_US
    return SessionCalendar(ALWAYS_OPEN, "UTC", labels, opens, opens + _DAY_US, [None] * days)
