"""The array forms of anchoring and trading time agree, time by time, with plain loops over the
calendar's segments: on XKRX, on always-open days, and on a calendar with lunch breaks and
holidays, at and around every boundary and beyond both ends."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine import ALWAYS_OPEN, SessionCalendar, get_calendar

H_US = 3_600_000_000
DAY_US = 24 * H_US


def with_breaks() -> SessionCalendar:
    """Weekday sessions 09:00-15:00 UTC, a lunch break 12:00-13:00 on some, a holiday."""
    labels: list[date] = []
    opens: list[int] = []
    closes: list[int] = []
    breaks: list[tuple[int, int] | None] = []
    day = date(2025, 7, 1)
    while len(labels) < 30:
        if day.weekday() < 5 and day != date(2025, 7, 17):
            midnight = (day - date(1970, 1, 1)).days * DAY_US
            labels.append(day)
            opens.append(midnight + 9 * H_US)
            closes.append(midnight + 15 * H_US)
            lunch = (midnight + 12 * H_US, midnight + 13 * H_US)
            breaks.append(lunch if len(labels) % 3 else None)
        day += timedelta(days=1)
    return SessionCalendar("TEST", "UTC", labels, np.asarray(opens), np.asarray(closes), breaks)


CALENDARS = [
    get_calendar("XKRX", date(2025, 6, 1), date(2025, 8, 31)),
    get_calendar(ALWAYS_OPEN, date(2025, 7, 1), date(2025, 7, 20)),
    with_breaks(),
]


# --- plain loops over the segments (the one-time forms as they were first written) ---------
def anchor_loop(cal: SessionCalendar, t_us: int, day: bool) -> tuple[int, int, bool] | None:
    def reopens(k: int) -> bool:
        return k == 0 or cal.seg_start[k] > cal.seg_end[k - 1]

    if day:
        s = bisect_left(cal.labels, cal.local_date(t_us).toordinal())
        if s >= len(cal.labels):
            return None
        return int(cal.opens_us[s]), s, reopens(cal.session_first_seg[s])
    k = bisect_right(cal.seg_start, t_us) - 1
    if k >= 0 and t_us < cal.seg_end[k]:
        return t_us, cal.seg_session[k], t_us == cal.seg_start[k] and reopens(k)
    k += 1
    if k >= len(cal.seg_start):
        return None
    return cal.seg_start[k], cal.seg_session[k], reopens(k)


def add_trading_loop(cal: SessionCalendar, t_us: int, duration_us: int) -> int | None:
    k = bisect_right(cal.seg_start, t_us) - 1
    coord = 0
    if k >= 0:
        coord = cal.seg_cum[k] + min(t_us - cal.seg_start[k], cal.seg_end[k] - cal.seg_start[k])
    target = coord + duration_us
    k = bisect_left(cal.seg_cum, target, lo=1) - 1
    if k >= len(cal.seg_start):
        return None
    end_us: int = cal.seg_start[k] + (target - cal.seg_cum[k])
    return end_us


def session_fractions_loop(cal: SessionCalendar, start_us: int, end_us: int) -> float:
    total = 0.0
    k = max(bisect_right(cal.seg_start, start_us) - 1, 0)
    while k < len(cal.seg_start) and cal.seg_start[k] < end_us:
        lo, hi = max(start_us, cal.seg_start[k]), min(end_us, cal.seg_end[k])
        if hi > lo:
            total += (hi - lo) / cal.session_len_us[cal.seg_session[k]]
        k += 1
    return total


@st.composite
def times(draw: st.DrawFn, cal: SessionCalendar) -> list[int]:
    """Times at, just around and between segment boundaries, and before and after the
    calendar."""
    edges = [*cal.seg_start, *cal.seg_end]
    first, last = cal.seg_start[0], cal.seg_end[-1]
    near = st.builds(
        lambda e, d: e + d, st.sampled_from(edges), st.sampled_from([-1, 0, 1, -60_000_000])
    )
    anywhere = st.integers(first - 3 * DAY_US, last + 3 * DAY_US)
    return draw(st.lists(st.one_of(near, anywhere), min_size=1, max_size=40))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_anchors_agree_with_the_loop(data: st.DataObject) -> None:
    cal = data.draw(st.sampled_from(CALENDARS))
    t_us = data.draw(times(cal))
    day = data.draw(st.lists(st.booleans(), min_size=len(t_us), max_size=len(t_us)))
    anchor_us, session, at_open, reached = cal.anchors(np.asarray(t_us), np.asarray(day))
    for j, (t, d) in enumerate(zip(t_us, day, strict=True)):
        expected = anchor_loop(cal, t, d)
        got = (int(anchor_us[j]), int(session[j]), bool(at_open[j])) if reached[j] else None
        assert got == expected, (cal.code, t, d)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_trading_time_agrees_with_the_loop(data: st.DataObject) -> None:
    cal = data.draw(st.sampled_from(CALENDARS))
    t_us = data.draw(times(cal))
    minutes = [5, 30, 120, 60 * 24, 60 * 24 * 40]  # the last goes beyond every calendar here
    duration_us = [60_000_000 * data.draw(st.sampled_from(minutes)) for _ in t_us]
    end_us, reached = cal.add_trading(np.asarray(t_us), np.asarray(duration_us))
    for j, (t, d) in enumerate(zip(t_us, duration_us, strict=True)):
        assert (int(end_us[j]) if reached[j] else None) == add_trading_loop(cal, t, d)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_sessions_spanned_agree_with_the_loop_bit_for_bit(data: st.DataObject) -> None:
    cal = data.draw(st.sampled_from(CALENDARS))
    start_us = data.draw(times(cal))
    # whole hours and days, and any length up to nine days
    lengths = st.one_of(
        st.sampled_from([-1, 0, 1, H_US, 5 * DAY_US]), st.integers(-H_US, 9 * DAY_US)
    )
    end_us = [t + data.draw(lengths) for t in start_us]
    spanned = cal.sessions_spanned(np.asarray(start_us), np.asarray(end_us))
    expected = [session_fractions_loop(cal, s, e) for s, e in zip(start_us, end_us, strict=True)]
    assert spanned.tolist() == expected
