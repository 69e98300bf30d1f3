"""The edges of issue 3's acceptance, as a table of explicit timestamps (KOSPI, XKRX).

Prices are ticks in Seoul time; every scenario checks the latest revision of one horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from services.engine import ReactionEngine
from services.events import Announcement, Signal
from tests.engine.helpers import kst, latest, make_engine
from tests.factories import announcement, ticks

Tick = tuple[datetime, float]
PREV_CLOSE: list[Tick] = [(kst(2025, 7, 7, 15, 20), 99.0), (kst(2025, 7, 7, 15, 30), 100.0)]
SESSION: list[Tick] = [
    (kst(2025, 7, 8, 9, 0), 101.0),
    (kst(2025, 7, 8, 9, 1), 99.5),
    (kst(2025, 7, 8, 12, 0), 102.0),
    (kst(2025, 7, 8, 15, 30), 101.5),
]
NEXT_DAY: list[Tick] = [(kst(2025, 7, 9, 9, 0), 101.0)]


FULL = [PREV_CLOSE, SESSION, NEXT_DAY]


@dataclass
class Case:
    announcement: Announcement
    batches: list[list[Tick]]
    horizon: str
    expect: dict[str, object]
    announce_after_prices: bool = False
    finish: bool = True
    absent: bool = False


def edge(
    name: str,
    published_at: datetime,
    batches: list[list[Tick]],
    horizon: str,
    *,
    precision: str = "minute",
    announce_after_prices: bool = False,
    finish: bool = True,
    absent: bool = False,
    **expect: object,
) -> Case:
    """A row: announcement `name` published at `published_at`, then `batches` of KOSPI ticks;
    the latest revision of `horizon` has the fields `expect`, or is `absent`."""
    published = announcement(name, published_at, precision=precision)
    return Case(published, batches, horizon, expect, announce_after_prices, finish, absent)


# fmt: off
CASES = [
    # exactly at the open: the window starts at the open, takes the opening print (gap)
    edge("exactly-at-open", kst(2025, 7, 8, 9, 0), FULL, "close", anchor_at=kst(2025, 7, 8, 9, 0),
         base_price=100.0, base_at=kst(2025, 7, 7, 15, 30), gap_pct=1.0, return_pct=1.5,
         max_rise_pct=2.0, max_fall_pct=-0.5, peak_at=kst(2025, 7, 8, 12, 0),
         time_to_peak_s=3 * 3600.0, final=True, direction="up", data_granularity="tick"),
    # exactly at the close: closed, anchored at the next open; base = the closing tick itself
    edge("exactly-at-close", kst(2025, 7, 7, 15, 30), FULL, "close",
         anchor_at=kst(2025, 7, 8, 9, 0), base_price=100.0, return_pct=1.5, final=True),
    # inside the session: base is the last tick at or before the publication, no gap
    edge("intraday-base-at-anchor", kst(2025, 7, 8, 9, 1), FULL, "close",
         anchor_at=kst(2025, 7, 8, 9, 1), base_price=99.5, gap_pct=None, last_price=101.5,
         final=True),
    # 5 minutes after the 09:01 anchor the window holds no tick: nothing observed, nothing sent
    edge("empty-window-not-emitted", kst(2025, 7, 8, 9, 1), [PREV_CLOSE, SESSION], "5m",
         absent=True),
    # Liberation Day (Friday 15 Aug 2025) is a holiday: next session is Monday 18 Aug
    edge("holiday", kst(2025, 8, 15, 10, 0),
         [[(kst(2025, 8, 14, 15, 30), 100.0)],
          [(kst(2025, 8, 18, 9, 0), 99.0), (kst(2025, 8, 18, 15, 30), 98.0)]], "close",
         anchor_at=kst(2025, 8, 18, 9, 0), base_at=kst(2025, 8, 14, 15, 30), return_pct=-2.0,
         gap_pct=-1.0, direction="down", final=True),
    # Friday night in Seoul: anchored at Monday's open, base = Friday's close
    edge("friday-night-flat", kst(2025, 7, 11, 22, 0),
         [[(kst(2025, 7, 11, 15, 30), 100.0)],
          [(kst(2025, 7, 14, 9, 0), 100.02), (kst(2025, 7, 14, 15, 30), 100.03)]], "close",
         anchor_at=kst(2025, 7, 14, 9, 0), base_at=kst(2025, 7, 11, 15, 30), direction="flat"),
    # precision "day": the open of that date's session even though ticks came earlier that night
    edge("precision-day", kst(2025, 7, 8, 0, 0), FULL, "2h", precision="day",
         anchor_at=kst(2025, 7, 8, 9, 0), base_price=100.0, last_price=99.5, max_rise_pct=1.0,
         final=True),
    # base missing: no price at or before the anchor, so no reaction at all
    edge("base-missing", kst(2025, 7, 7, 20, 0), [SESSION, NEXT_DAY], "close", absent=True),
    # one tick in the window: it is the last, the peak and the gap
    edge("one-tick-only", kst(2025, 7, 7, 20, 0),
         [PREV_CLOSE, [(kst(2025, 7, 8, 10, 0), 100.5)], NEXT_DAY], "close",
         last_price=100.5, return_pct=0.5, max_rise_pct=0.5, max_fall_pct=0.5,
         peak_at=kst(2025, 7, 8, 10, 0), gap_pct=0.5, final=True, revision=2),
    # duplicate and out-of-order ticks (within the 10-minute lateness) change nothing
    edge("duplicates-out-of-order", kst(2025, 7, 8, 9, 0),
         [PREV_CLOSE[::-1], [SESSION[1], SESSION[0], SESSION[0], SESSION[1]], SESSION[2:3] * 2,
          SESSION[3:], NEXT_DAY * 2], "close",
         base_price=100.0, gap_pct=1.0, return_pct=1.5, max_rise_pct=2.0, final=True),
    # late announcement: published after all the data arrived; computed from kept history
    edge("late-announcement", kst(2025, 7, 8, 9, 0), FULL, "close",
         announce_after_prices=True, finish=False,
         base_price=100.0, return_pct=1.5, max_rise_pct=2.0, final=True, revision=1),
    # the data stops before the close and the input ends: close stays provisional
    edge("data-not-reaching-end", kst(2025, 7, 8, 9, 0), [PREV_CLOSE, SESSION[:3]], "close",
         final=False, last_price=102.0),
]
# fmt: on


def _run(case: Case) -> tuple[ReactionEngine, dict[tuple[str, str, str], Signal]]:
    engine, _ = make_engine()
    out: list[Signal] = []
    if not case.announce_after_prices:
        out += engine.add_announcements([case.announcement])
    for batch in case.batches:
        out += engine.add_prices(ticks("KOSPI", batch))
    if case.announce_after_prices:
        out += engine.add_announcements([case.announcement])
    if case.finish:
        out += engine.finish()
    return engine, latest(out)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.announcement.id)
def test_edge(case: Case) -> None:
    _, got = _run(case)
    key = (case.announcement.id, "KOSPI", case.horizon)
    if case.absent:
        assert key not in got
        return
    signal = got[key]
    for name, want in case.expect.items():
        value = getattr(signal, name)
        if isinstance(want, float):
            assert value == pytest.approx(want), name
        else:
            assert value == want, name


def test_late_tick_corrects_final_and_old_tick_is_dropped() -> None:
    engine, _ = make_engine(allowed_lateness_s=600)
    out = list(engine.add_announcements([announcement("a", kst(2025, 7, 8, 9, 0))]))
    out += engine.add_prices(
        ticks(
            "KOSPI", [*PREV_CLOSE, (kst(2025, 7, 8, 9, 0), 101.0), (kst(2025, 7, 8, 9, 5), 101.0)]
        )
    )
    out += engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 8, 9, 6), 100.8)]))
    first = latest(out)[("a", "KOSPI", "5m")]
    assert first.final
    assert not first.corrected
    assert first.max_rise_pct == pytest.approx(1.0)
    # 09:03 is late (watermark 09:06) but within 10 minutes: a new high corrects the final
    fix = engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 8, 9, 3), 103.0)]))
    corrected = latest(fix)[("a", "KOSPI", "5m")]
    assert corrected.final
    assert corrected.corrected
    assert corrected.revision == first.revision + 1
    assert corrected.max_rise_pct == pytest.approx(3.0)
    assert corrected.peak_at == kst(2025, 7, 8, 9, 3)
    # the same tick again is a duplicate: nothing changes
    assert engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 8, 9, 3), 103.0)])) == []
    # far past the watermark: an hour later, a tick from 09:02 is counted and dropped
    engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 8, 10, 6), 101.0)]))
    before = engine.stats.late_dropped
    assert all(
        s.horizon != "5m"
        for s in engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 8, 9, 2), 90.0)]))
    )
    assert engine.stats.late_dropped == before + 1


def test_grace_finalises_after_close_by_processing_time() -> None:
    engine, clock = make_engine(grace_s=30)
    engine.add_announcements([announcement("a", kst(2025, 7, 8, 9, 0))])
    # the last tick is 20 s before the close: the watermark never reaches the window's end
    before_close = [*SESSION[:3], (kst(2025, 7, 8, 15, 29, 40), 101.5)]
    provisional = latest(engine.add_prices(ticks("KOSPI", PREV_CLOSE + before_close)))
    assert not provisional[("a", "KOSPI", "close")].final
    assert engine.on_idle() == []  # no processing time has passed
    clock.advance(29)
    assert engine.on_idle() == []
    clock.advance(1)
    done = latest(engine.on_idle())
    assert done[("a", "KOSPI", "close")].final
    assert ("a", "KOSPI", "close+1") not in done  # its session has not happened yet


def test_grace_does_not_finalise_mid_session() -> None:
    engine, clock = make_engine(grace_s=30)
    engine.add_announcements([announcement("a", kst(2025, 7, 8, 9, 0))])
    engine.add_prices(ticks("KOSPI", PREV_CLOSE + SESSION[:3]))  # stops at 12:00
    clock.advance(3600)
    assert all(not s.final or s.horizon in ("5m", "30m", "2h") for s in engine.on_idle())
