"""Trading calendars as sorted arrays of sessions: XKRX via exchange_calendars, or always open.

Times are integer microseconds since the epoch (UTC). A session trades in [open, close), minus
any break; trading-time arithmetic walks the "segments" (open→break, break→close) and skips
everything between them.

Anchoring and trading-time arithmetic take arrays of times (`anchors`, `add_trading`,
`sessions_spanned`), so the windows of many announcements are laid out in a few array
operations; the one-time forms (`anchor`, `add_trading_us`, `session_fractions`) are those on
one element.
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
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


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
        # the segments as arrays too, for the array forms of anchoring and trading time
        self._seg_start_np = np.asarray(starts, dtype=np.int64)
        self._seg_end_np = np.asarray(ends, dtype=np.int64)
        self._seg_session_np = np.asarray(sessions, dtype=np.int64)
        self._seg_cum_np = np.asarray(self.seg_cum, dtype=np.int64)
        self._seg_session_len_np = np.asarray(self.session_len_us, dtype=np.int64)[
            self._seg_session_np
        ]
        self._labels_np = np.asarray(self.labels, dtype=np.int64)
        self._session_first_seg_np = np.asarray(self.session_first_seg, dtype=np.int64)
        # whether each segment starts after a closure (a window starting there has a gap)
        self._reopens_np = np.ones(len(starts), dtype=np.bool_)
        self._reopens_np[1:] = self._seg_start_np[1:] > self._seg_end_np[:-1]

    # --- lookups -------------------------------------------------------------------------
    def _segment_at_or_before(self, t_us: int) -> int:
        return bisect_right(self.seg_start, t_us) - 1

    def is_open(self, t_us: int) -> bool:
        k = self._segment_at_or_before(t_us)
        return k >= 0 and t_us < self.seg_end[k]

    def anchor(self, t_us: int, *, day_precision: bool) -> tuple[int, int, bool]:
        anchor_us, session, at_open, reached = self.anchors(
            np.asarray([t_us], dtype=np.int64), np.asarray([day_precision])
        )
        if not reached[0]:
            raise self._beyond(t_us)
        return int(anchor_us[0]), int(session[0]), bool(at_open[0])

    def anchors(self, t_us: I64, day_precision: Mask) -> tuple[I64, I64, Mask, Mask]:
        """`anchor` of each time (with its precision): anchor µs, session, whether the window
        starts at an open, and whether the calendar reaches it (where not, the others say
        nothing)."""
        n_segs = len(self.seg_start)
        # the segment that holds the time, or else the next one: the first that ends after it
        seg = self._seg_end_np.searchsorted(t_us, side="right")
        if day_precision.any():
            # the first session on or after the exchange-local date, from its open
            days = np.flatnonzero(day_precision)
            ordinals = [self.local_date(t).toordinal() for t in t_us[days].tolist()]
            first = self._labels_np.searchsorted(ordinals, side="left")
            seg[days] = self._session_first_seg_np[np.minimum(first, len(self.labels) - 1)]
            seg[days[first >= len(self.labels)]] = n_segs
        reached = seg < n_segs
        seg = np.minimum(seg, n_segs - 1)
        start_us = self._seg_start_np[seg]
        anchor_us = np.where(day_precision, start_us, np.maximum(t_us, start_us))
        at_open = (anchor_us == start_us) & self._reopens_np[seg] & reached
        return anchor_us, self._seg_session_np[seg], at_open, reached

    def _beyond(self, t_us: int) -> CalendarError:
        return CalendarError(f"{from_us(t_us).isoformat()} is beyond calendar {self.code!r}")

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
    def add_trading_us(self, t_us: int, duration_us: int) -> int:
        end_us, reached = self.add_trading(
            np.asarray([t_us], dtype=np.int64), np.asarray([duration_us], dtype=np.int64)
        )
        if not reached[0]:
            raise self._beyond(t_us)
        return int(end_us[0])

    def add_trading(self, t_us: I64, duration_us: I64) -> tuple[I64, Mask]:
        """`add_trading_us` of each time and duration, and whether the calendar reaches it
        (where not, the time is 0)."""
        # trading time since the first open, of each start and then of each end
        k = self._seg_start_np.searchsorted(t_us, side="right") - 1
        seg = np.maximum(k, 0)
        start = self._seg_start_np[seg]
        into = np.minimum(t_us - start, self._seg_end_np[seg] - start)
        target = np.where(k >= 0, self._seg_cum_np[seg] + into, 0) + duration_us
        # the first segment whose cumulative end reaches the target (landing on a close stays
        # there)
        k = self._seg_cum_np[1:].searchsorted(target, side="left")
        reached = k < len(self.seg_start)
        k = np.where(reached, k, 0)
        return np.where(reached, self._seg_start_np[k] + (target - self._seg_cum_np[k]), 0), reached

    def session_fractions(self, start_us: int, end_us: int) -> float:
        spanned = self.sessions_spanned(
            np.asarray([start_us], dtype=np.int64), np.asarray([end_us], dtype=np.int64)
        )
        return float(spanned[0])

    def sessions_spanned(self, start_us: I64, end_us: I64) -> F64:
        """`session_fractions` of each (start, end): each segment's share of its session,
        added segment by segment in time order (a sum in another order may end in another
        last bit)."""
        first = np.maximum(self._seg_start_np.searchsorted(start_us, side="right") - 1, 0)
        stop = self._seg_start_np.searchsorted(end_us, side="left")  # starts at/after end
        # one row per (start, end), one column per segment from its first
        k = first[:, None] + np.arange(int((stop - first).max(initial=0)))
        seg = np.minimum(k, len(self.seg_start) - 1)
        lo = np.maximum(start_us[:, None], self._seg_start_np[seg])
        hi = np.minimum(end_us[:, None], self._seg_end_np[seg])
        counted = (k < stop[:, None]) & (hi > lo)
        shares = np.where(counted, (hi - lo) / self._seg_session_len_np[seg], 0.0)
        total = np.zeros(len(start_us), dtype=np.float64)
        for column in shares.T:
            total += column
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
