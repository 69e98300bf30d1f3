"""The seed scenario, the baseline statistics, benchmarks, confounders and granularity."""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import date, datetime

import pytest

from services.events import Signal
from tests.engine.helpers import NEW_YORK, korea_registry, kst, latest, make_engine, sessions_before
from tests.factories import announcement, daily_bars, ticks


def test_seed_us_letter_kospi_rises_as_much_as_1_8_pct() -> None:
    """Monday 7 July 2025, ~noon in Washington = 01:00 Tuesday in Seoul, market closed."""
    engine, _ = make_engine()
    out: list[Signal] = []
    prev_close = 3059.47
    out += engine.add_prices(
        ticks("KOSPI", [(kst(2025, 7, 7, 15, 29), 3061.0), (kst(2025, 7, 7, 15, 30), prev_close)])
    )
    letter = announcement("us-letter-kr-25pct", datetime(2025, 7, 7, 12, 4, tzinfo=NEW_YORK))
    out += engine.add_announcements([letter])
    peak = prev_close * 1.018
    path = [
        (kst(2025, 7, 8, 9, 0), 3071.2),
        (kst(2025, 7, 8, 9, 30), 3090.0),
        (kst(2025, 7, 8, 13, 41), peak),  # as much as 1.8%
        (kst(2025, 7, 8, 14, 30), 3100.0),
        (kst(2025, 7, 8, 15, 30), 3105.0),
    ]
    for t, p in path:
        out += engine.add_prices(ticks("KOSPI", [(t, p)]))
    out += engine.finish()
    close = latest(out)[("us-letter-kr-25pct", "KOSPI", "close")]
    assert close.anchor_at == kst(2025, 7, 8, 9, 0)  # that session's open
    assert close.base_price == prev_close
    assert close.base_at == kst(2025, 7, 7, 15, 30)
    assert close.max_rise_pct == pytest.approx(1.8)
    assert close.peak_at == kst(2025, 7, 8, 13, 41)
    assert close.return_pct == pytest.approx((3105.0 / prev_close - 1) * 100)
    assert close.final
    assert close.direction == "up"
    assert close.data_granularity == "tick"
    assert close.baseline_mean_pct is None
    assert close.z_score is None


def test_daily_bars_baseline_z_score_and_horizons() -> None:
    engine, _ = make_engine()
    days = sessions_before(date(2025, 7, 8), 61)
    closes = [100.0 * (1 + 0.01 * math.sin(i)) for i in range(61)]
    engine.add_prices(daily_bars("KOSPI", zip(days, closes, strict=True)))
    engine.add_announcements([announcement("a", kst(2025, 7, 8, 1, 0))])
    out = engine.add_prices(
        daily_bars("KOSPI", [(kst(2025, 7, 8), 103.0), (kst(2025, 7, 9), 104.0)])
    )
    got = latest(out + engine.finish())
    assert {k[2] for k in got} == {"close", "close+1", "close+5"}  # daily bars: no 5m/30m/2h
    assert not got[("a", "KOSPI", "close+5")].final  # the data does not reach its end
    returns = [(b / a - 1) * 100 for a, b in itertools.pairwise(closes)]
    m, s = statistics.mean(returns), statistics.stdev(returns)
    close = got[("a", "KOSPI", "close")]
    r = (103.0 / closes[-1] - 1) * 100
    assert close.data_granularity == "1d"
    assert close.baseline_mean_pct == pytest.approx(m)
    assert close.baseline_std_pct == pytest.approx(s)
    assert close.z_score == pytest.approx((r - m) / s)  # k = 1 session
    assert close.abnormal_return_pct == pytest.approx(r - m)
    assert close.significant is (abs((r - m) / s) >= 1.96)
    plus1 = got[("a", "KOSPI", "close+1")]
    r2 = (104.0 / closes[-1] - 1) * 100
    assert plus1.z_score == pytest.approx((r2 - 2 * m) / (math.sqrt(2) * s))  # k = 2


def test_baseline_null_when_a_session_is_missing() -> None:
    engine, _ = make_engine()
    days = sessions_before(date(2025, 7, 8), 61)
    engine.add_prices(daily_bars("KOSPI", [(d, 100.0 + i) for i, d in enumerate(days) if i != 30]))
    engine.add_announcements([announcement("a", kst(2025, 7, 8, 1, 0))])
    got = latest(engine.add_prices(daily_bars("KOSPI", [(kst(2025, 7, 8), 103.0)])))
    close = got[("a", "KOSPI", "close")]
    assert close.baseline_std_pct is None
    assert close.z_score is None
    assert close.significant is None


def test_intraday_anchor_on_daily_bar_takes_the_whole_bar() -> None:
    engine, _ = make_engine()
    engine.add_announcements([announcement("a", kst(2025, 7, 8, 11, 0))])
    out = engine.add_prices(
        daily_bars("KOSPI", [(kst(2025, 7, 7), 100.0), (kst(2025, 7, 8), 101.0)])
    )
    close = latest(out)[("a", "KOSPI", "close")]
    assert close.data_granularity == "1d"
    assert close.base_at == kst(2025, 7, 7, 15, 30)
    assert close.last_at == kst(2025, 7, 8, 15, 30)
    assert close.return_pct == pytest.approx(1.0)


def test_benchmark_abnormal_return_and_confounders() -> None:
    engine, _ = make_engine(korea_registry())
    out = list(
        engine.add_announcements(
            [
                announcement("autos", kst(2025, 7, 7, 20, 0), sectors=["autos"]),
                announcement("second", kst(2025, 7, 8, 10, 0)),
            ]
        )
    )
    for sym, base, close in (("KOSPI", 100.0, 101.0), ("005380.KS", 200.0, 206.0)):
        out += engine.add_prices(
            ticks(sym, [(kst(2025, 7, 7, 15, 30), base), (kst(2025, 7, 8, 15, 30), close)])
        )
    got = latest(out)
    stock = got[("autos", "005380.KS", "close")]
    assert stock.return_pct == pytest.approx(3.0)
    assert stock.abnormal_return_pct == pytest.approx(2.0)  # minus KOSPI's 1%
    assert stock.confounders == []  # "second" targets all sectors: not routed to the stock
    kospi = got[("autos", "KOSPI", "close")]
    assert kospi.confounders == ["second"]  # anchored at 10:00, inside the close window
    assert ("second", "005380.KS", "close") not in got
