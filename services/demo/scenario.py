"""A scenario built on the seed story: the US letter of 7 July 2025 setting a 25% tariff on
Korean goods, published around noon in Washington (after midnight in Seoul, market closed),
and the KOSPI session that followed, rising as much as 1.8%.

Deterministic for a seed: 70 sessions of daily bars before the letter (the baseline), then the
next six XKRX sessions of ticks for KOSPI, KOSDAQ and USDKRW: a random walk around a path that
peaks at the story's move."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.engine.calendar import SessionCalendar, get_calendar
from services.events import Announcement, Price
from services.frames import from_us

LETTER = Announcement(
    id="us-kr-2025-07-07-letter",
    published_at=datetime(2025, 7, 7, 16, 4, tzinfo=UTC),
    published_at_precision="minute",
    source="truth_social",
    targets=["KR"],
    sectors=["all"],
    action="impose",
    tariff_rate_pct=25.0,
    previous_rate_pct=None,
    effective_at=date(2025, 8, 1),
    headline="US letter sets a 25% tariff on all South Korean goods from 1 August",
)


@dataclass(frozen=True, slots=True)
class Move:
    """How an instrument behaves in the scenario."""

    instrument: str
    previous_close: float
    peak_pct: float
    """The largest excursion of the letter's session, reached around `peak_at_fraction`."""
    close_pct: float
    daily_vol_pct: float


MOVES = (
    Move("KOSPI", 3059.47, 1.84, 1.81, 0.9),
    Move("KOSDAQ", 775.62, 1.05, 0.42, 1.1),
    Move("USDKRW", 1367.3, -0.46, -0.31, 0.4),
)
SECTOR_MOVES = (
    Move("005380.KS", 213_500.0, -2.6, -1.9, 1.7),
    Move("005490.KS", 281_000.0, 2.2, 1.3, 1.9),
)
SECTOR_LETTER = LETTER.model_copy(
    update={
        "id": "us-kr-2025-07-07-autos-steel",
        "sectors": ["autos", "steel"],
        "headline": "US letter sets a 25% tariff on South Korean cars and steel from 1 August",
    }
)
HISTORY_SESSIONS = 70
SESSIONS_AFTER = 6
PEAK_AT_FRACTION = 0.55


@dataclass(frozen=True, slots=True)
class Scenario:
    announcements: list[Announcement]
    history: list[Price]
    """Daily bars before the letter, in time order: the baseline's history."""
    live: list[Price]
    """Ticks from the first session after the letter on, in time order."""


def seed_story(seed: int = 7, tick_s: int = 10) -> Scenario:
    return _story([LETTER], MOVES, seed, tick_s)


def benchmark_story(seed: int = 7, tick_s: int = 10) -> Scenario:
    """The seed story with two stocks benchmarked to KOSPI in the registry (Hyundai Motor,
    POSCO) and the letter naming their sectors, so every reaction of theirs has an abnormal
    return against KOSPI's return over the same window."""
    return _story([SECTOR_LETTER], MOVES + SECTOR_MOVES, seed, tick_s)


def _story(
    announcements: list[Announcement], moves: tuple[Move, ...], seed: int, tick_s: int
) -> Scenario:
    rng = random.Random(seed)
    calendar = get_calendar("XKRX", date(2025, 1, 1), date(2025, 12, 31))
    letter_day = LETTER.published_at.astimezone(calendar.tz).date().toordinal()
    at = next(s for s, label in enumerate(calendar.labels) if label >= letter_day)
    before = range(at - HISTORY_SESSIONS, at)
    after = range(at, at + SESSIONS_AFTER)
    history: list[Price] = []
    live: list[Price] = []
    for move in moves:
        history += _daily_bars(rng, move, calendar, before)
        live += _session_ticks(rng, move, calendar, after, tick_s)
    history.sort(key=lambda p: p.ts)
    live.sort(key=lambda p: p.ts)
    return Scenario(announcements, history, live)


def _daily_bars(
    rng: random.Random, move: Move, calendar: SessionCalendar, sessions: range
) -> list[Price]:
    """Daily bars ending exactly at `previous_close`, walked backwards."""
    bars = []
    close = move.previous_close
    for session in reversed(sessions):
        day_move = rng.gauss(0.03, move.daily_vol_pct) / 100
        open_ = close / (1 + day_move)
        high = max(open_, close) * (1 + abs(rng.gauss(0, move.daily_vol_pct / 300)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, move.daily_vol_pct / 300)))
        bars.append(
            Price(
                instrument=move.instrument,
                # a daily bar starts at 00:00 exchange time of its session's date
                ts=datetime.combine(
                    date.fromordinal(calendar.labels[session]), time(), calendar.tz
                ).astimezone(UTC),
                open=round(open_, 2),
                high=round(high, 2),
                low=round(low, 2),
                close=round(close, 2),
                interval="1d",
            )
        )
        close = open_ * (1 + rng.gauss(0, move.daily_vol_pct / 400))
    return bars


def _session_ticks(
    rng: random.Random,
    move: Move,
    calendar: SessionCalendar,
    sessions: range,
    tick_s: int,
) -> list[Price]:
    ticks = []
    level = move.previous_close
    for k, session in enumerate(sessions):
        open_at = from_us(calendar.session_open_us(session))
        close_at = from_us(calendar.session_close_us(session))
        n = int((close_at - open_at).total_seconds() // tick_s) + 1
        path = (
            _story_path(rng, move, n)
            if k == 0
            else _walk(rng, n, move.daily_vol_pct / math.sqrt(n))
        )
        start = level if k else move.previous_close
        ticks += [
            Price(
                instrument=move.instrument,
                ts=open_at + timedelta(seconds=i * tick_s),
                price=round(start * (1 + pct / 100), 2),
                volume=float(rng.randint(1, 500)),
            )
            for i, pct in enumerate(path)
        ]
        level = ticks[-1].price or level
    return ticks


def _walk(rng: random.Random, n: int, step_pct: float) -> list[float]:
    path, value = [], 0.0
    for _ in range(n):
        value += rng.gauss(0, step_pct)
        path.append(value)
    return path


def _story_path(rng: random.Random, move: Move, n: int) -> list[float]:
    """Percent moves from the previous close: a gap at the open, a climb to exactly `peak_pct`
    around the peak, then a drift to `close_pct`; noise never exceeds the peak."""
    peak_i = int(n * PEAK_AT_FRACTION)
    gap = move.peak_pct * 0.35
    noise = _walk(rng, n, abs(move.peak_pct) / 60)
    path = []
    for i in range(n):
        if i <= peak_i:
            trend = gap + (move.peak_pct - gap) * (i / peak_i) ** 0.7
            damp = 1 - i / peak_i
        else:
            trend = move.peak_pct + (move.close_pct - move.peak_pct) * (i - peak_i) / (
                n - 1 - peak_i
            )
            damp = (i - peak_i) / (n - 1 - peak_i) * (1 - (i - peak_i) / (n - 1 - peak_i)) * 4
        path.append(trend + noise[i] * damp * 0.5)
    path[peak_i] = move.peak_pct
    path[-1] = move.close_pct
    bound = abs(move.peak_pct) * 0.999
    sign = 1 if move.peak_pct >= 0 else -1
    return [p if i == peak_i else sign * min(sign * p, bound) for i, p in enumerate(path)]
