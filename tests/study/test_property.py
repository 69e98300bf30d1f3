"""The polars study engine equals the plain-Python reference of DESIGN §4b (tests/study/reference)
on generated data: all three models, tied returns, missing sessions, events too early for the
estimation window, and N = 1 (aggregate null)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.study.core import StudyEvent, run_study
from services.study.params import MODELS, Model, StudyParams
from tests.study.reference import reference_event, reference_study

SESSIONS = 160
# a coarse grid of returns makes ties common (ranks must average them)
RETURN = st.one_of(
    st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0]),
    st.floats(-4, 4, allow_nan=False).map(lambda x: round(x, 2)),
)
MAYBE_RETURN = st.one_of(st.none(), RETURN, RETURN, RETURN, RETURN, RETURN)


@dataclass(frozen=True)
class Case:
    """One generated study: its parameters, the instrument's and the market's returns per
    session (None where missing) and the event sessions."""

    model: Model
    window: tuple[int, int]
    estimation: tuple[int, int]
    min_estimation: int
    returns: list[float | None]
    market: list[float | None]
    days0: list[int]
    confounded: list[bool]


@st.composite
def studies(draw: st.DrawFn) -> Case:
    model = draw(st.sampled_from(MODELS))
    e1 = draw(st.integers(-50, -12))
    e2 = draw(st.integers(e1 + 6, -1))
    t1 = draw(st.integers(e2 + 1, 2))
    t2 = draw(st.integers(t1, t1 + 6))
    min_est = draw(st.integers(5, e2 - e1 + 1))
    returns = draw(st.lists(MAYBE_RETURN, min_size=SESSIONS, max_size=SESSIONS))
    market = draw(st.lists(MAYBE_RETURN, min_size=SESSIONS, max_size=SESSIONS))
    # day 0 anywhere, including too early for the estimation window and past the data's end
    days0 = draw(st.lists(st.integers(0, SESSIONS + 3), min_size=1, max_size=6))
    confounded = draw(st.lists(st.booleans(), min_size=len(days0), max_size=len(days0)))
    return Case(model, (t1, t2), (e1, e2), min_est, returns, market, days0, confounded)


def _array(values: list[float | None]) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values])


def _same(got: float | None, want: float | None) -> None:
    if want is None:
        assert got is None
    else:
        assert got is not None
        assert got == pytest.approx(want, rel=1e-7, abs=1e-7)


def _not_degenerate(case: Case) -> bool:
    """Rule out estimation windows whose variance is zero only up to rounding (both sides
    agree on exact zeros; a 1e-32 against a 0 is arithmetic noise, not semantics)."""
    market = case.market if case.model != "mean" else None
    for day0 in case.days0:
        ev = reference_event(
            case.returns, market, day0, case.model, case.window, case.estimation, 3
        )
        if ev.length >= 3 and (ev.sigma is None or ev.sigma < 1e-6):
            return False
    return True


@settings(
    max_examples=150, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(studies())
def test_engine_equals_reference(case: Case) -> None:
    assume(_not_degenerate(case))
    params = StudyParams(
        model=case.model,
        window=case.window,
        estimation=case.estimation,
        min_estimation=max(case.min_estimation, 5),
    )
    market = case.market if params.needs_benchmark else None
    sessions = [date(2020, 1, 1) + timedelta(days=i) for i in range(SESSIONS)]
    events = [StudyEvent(f"e{i}", d) for i, d in enumerate(case.days0)]
    got = run_study(
        events,
        _array(case.returns),
        sessions,
        params,
        market_pct=None if market is None else _array(market),
    )
    per, stats = reference_study(
        case.returns,
        market,
        case.days0,
        case.model,
        params.window,
        params.estimation,
        params.min_estimation,
    )
    assert len(got.events) == len(per)
    for g, w in zip(got.events, per, strict=True):
        assert g.n_estimation == w.length
        _same(g.car_pct, w.car)
        _same(g.scar, w.scar)
        _same(g.sigma_pct, w.sigma)
        _same(g.alpha, w.alpha)
        _same(g.beta, w.beta)
    assert got.n == sum(1 for w in per if w.car is not None)
    assert got.n_left_out == len(per) - got.n
    for key, want in stats.items():
        _same(getattr(got, key), want)
    if got.n < 2:
        assert got.caar_pct is None
        assert all(p.caar_pct is None for p in got.path)


def test_one_event_has_its_car_and_no_aggregate() -> None:
    r = np.sin(np.arange(300.0))
    got = run_study(
        [StudyEvent("only", 200)],
        r,
        [date(2020, 1, 1) + timedelta(days=i) for i in range(300)],
        StudyParams(),
    )
    assert got.n == 1
    assert got.events[0].car_pct is not None
    assert math.isfinite(got.events[0].car_pct)
    assert (got.caar_pct, got.t_cs, got.z_patell, got.t_bmp, got.z_sign, got.z_rank) == (None,) * 6


def test_too_early_for_estimation_is_left_out_and_counted() -> None:
    r = np.sin(np.arange(300.0))
    dates = [date(2020, 1, 1) + timedelta(days=i) for i in range(300)]
    # the default estimation [−130, −11] needs 60 returns: day 0 at session 69 has only the 59
    # of τ = −69 … −11 (sessions 0 … 58)
    got = run_study(
        [StudyEvent("early", 69), StudyEvent("a", 150), StudyEvent("b", 250)],
        r,
        dates,
        StudyParams(),
    )
    early = got.events[0]
    assert early.n_estimation == 59
    assert (early.car_pct, early.scar, early.sigma_pct) == (None, None, None)
    assert (got.n, got.n_left_out) == (2, 1)


def test_confounded_events_are_flagged_or_excluded() -> None:
    r = np.sin(np.arange(300.0))
    dates = [date(2020, 1, 1) + timedelta(days=i) for i in range(300)]
    events = [StudyEvent("a", 150, True), StudyEvent("b", 200), StudyEvent("c", 250)]
    kept = run_study(events, r, dates, StudyParams())
    assert [e.confounded for e in kept.events] == [True, False, False]
    assert kept.n == 3
    dropped = run_study(events, r, dates, StudyParams(exclude_confounded=True))
    assert [e.announcement_id for e in dropped.events] == ["b", "c"]
    assert (dropped.n, dropped.n_excluded_confounded) == (2, 1)
