"""Anchoring and trading-time arithmetic on the XKRX and always-open calendars."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.engine import ALWAYS_OPEN, get_calendar
from services.frames import from_us, to_us
from tests.engine.helpers import kst, utc

XKRX = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))
ALWAYS = get_calendar(ALWAYS_OPEN, date(2010, 1, 1), date(2030, 12, 31))

ANCHORS = [
    # (published_at, precision "day"?, expected anchor, window starts at an open)
    pytest.param(kst(2025, 7, 8, 9, 0), False, kst(2025, 7, 8, 9, 0), True, id="exactly-at-open"),
    pytest.param(
        kst(2025, 7, 8, 11, 15), False, kst(2025, 7, 8, 11, 15), False, id="inside-session"
    ),
    pytest.param(
        kst(2025, 7, 8, 15, 29, 59),
        False,
        kst(2025, 7, 8, 15, 29, 59),
        False,
        id="just-before-close",
    ),
    # the close itself is closed ([open, close)): next session's open
    pytest.param(
        kst(2025, 7, 8, 15, 30), False, kst(2025, 7, 9, 9, 0), True, id="exactly-at-close"
    ),
    pytest.param(
        kst(2025, 7, 8, 8, 59, 59), False, kst(2025, 7, 8, 9, 0), True, id="just-before-open"
    ),
    # the seed: noon Monday in New York is after midnight Tuesday in Seoul
    pytest.param(utc(2025, 7, 7, 16, 0), False, kst(2025, 7, 8, 9, 0), True, id="us-noon-monday"),
    pytest.param(kst(2025, 7, 11, 22, 0), False, kst(2025, 7, 14, 9, 0), True, id="friday-night"),
    pytest.param(
        kst(2025, 8, 15, 10, 0), False, kst(2025, 8, 18, 9, 0), True, id="liberation-day-holiday"
    ),
    # first session of the year opens at 10:00
    pytest.param(kst(2025, 1, 2, 9, 30), False, kst(2025, 1, 2, 10, 0), True, id="late-open-jan-2"),
    # precision "day": the first open on or after the exchange-local date
    pytest.param(kst(2025, 7, 8, 0, 0), True, kst(2025, 7, 8, 9, 0), True, id="day-precision"),
    pytest.param(
        utc(2025, 7, 8, 0, 0), True, kst(2025, 7, 8, 9, 0), True, id="day-precision-utc-midnight"
    ),
    pytest.param(
        kst(2025, 7, 12, 0, 0), True, kst(2025, 7, 14, 9, 0), True, id="day-precision-saturday"
    ),
    pytest.param(
        kst(2025, 8, 15, 0, 0), True, kst(2025, 8, 18, 9, 0), True, id="day-precision-holiday"
    ),
]


@pytest.mark.parametrize(("published", "day", "expected", "at_open"), ANCHORS)
def test_xkrx_anchor(published: datetime, day: bool, expected: datetime, at_open: bool) -> None:
    anchor_us, session, opens = XKRX.anchor(to_us(published), day_precision=day)
    assert from_us(anchor_us) == expected
    assert opens is at_open
    assert XKRX.session_open_us(session) <= anchor_us < XKRX.session_close_us(session)


def test_always_open_anchor_is_publication() -> None:
    t = to_us(kst(2025, 7, 12, 3, 0))  # a Saturday night in Seoul
    anchor_us, _, at_open = ALWAYS.anchor(t, day_precision=False)
    assert (anchor_us, at_open) == (t, False)
    day_us, _, _ = ALWAYS.anchor(t, day_precision=True)
    assert from_us(day_us) == utc(2025, 7, 11, 0, 0)  # the UTC date of 03:00 KST Saturday


TRADING = [
    # (start, trading minutes, expected end)
    pytest.param(kst(2025, 7, 8, 9, 0), 5, kst(2025, 7, 8, 9, 5), id="5m-after-open"),
    pytest.param(kst(2025, 7, 8, 15, 0), 30, kst(2025, 7, 8, 15, 30), id="lands-exactly-on-close"),
    pytest.param(kst(2025, 7, 8, 15, 28), 5, kst(2025, 7, 9, 9, 3), id="5m-across-the-night"),
    pytest.param(kst(2025, 7, 8, 14, 30), 120, kst(2025, 7, 9, 10, 0), id="2h-across-the-night"),
    pytest.param(kst(2025, 7, 11, 14, 0), 120, kst(2025, 7, 14, 9, 30), id="2h-across-weekend"),
    pytest.param(kst(2025, 8, 14, 15, 0), 60, kst(2025, 8, 18, 9, 30), id="1h-across-holiday"),
]


@pytest.mark.parametrize(("start", "minutes", "expected"), TRADING)
def test_xkrx_trading_time(start: datetime, minutes: int, expected: datetime) -> None:
    assert from_us(XKRX.add_trading_us(to_us(start), minutes * 60_000_000)) == expected


def test_session_fractions() -> None:
    open_us = to_us(kst(2025, 7, 8, 9, 0))
    assert XKRX.session_fractions(open_us, to_us(kst(2025, 7, 8, 15, 30))) == pytest.approx(1.0)
    assert XKRX.session_fractions(open_us, to_us(kst(2025, 7, 9, 15, 30))) == pytest.approx(2.0)
    assert XKRX.session_fractions(open_us, to_us(kst(2025, 7, 8, 11, 0))) == pytest.approx(2 / 6.5)


CLOSED_AFTER = [
    # (last event, market closed after it within 60 s?)
    pytest.param(kst(2025, 7, 8, 15, 30), True, id="at-close"),
    pytest.param(kst(2025, 7, 8, 15, 29, 30), True, id="within-tolerance"),
    pytest.param(kst(2025, 7, 8, 15, 28), False, id="two-minutes-before-close"),
    pytest.param(kst(2025, 7, 8, 20, 0), True, id="evening"),
]


@pytest.mark.parametrize(("last", "closed"), CLOSED_AFTER)
def test_closed_after(last: datetime, closed: bool) -> None:
    got, next_open = XKRX.closed_after(to_us(last), 60_000_000)
    assert got is closed
    assert from_us(next_open) == kst(2025, 7, 9, 9, 0)


def test_always_open_never_closes() -> None:
    assert ALWAYS.closed_after(to_us(kst(2025, 7, 8, 23, 59, 59)), 60_000_000)[0] is False
