"""A study small enough to check by hand: 3 events, model `mean`, estimation [−65, −1] (65
sessions), event window [0, 1] (T = 2). The arithmetic is in the comments."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from services.study.core import StudyEvent, run_study
from services.study.params import StudyParams

DAY0 = {"A": 100, "B": 200, "C": 300}
# every event sees the same estimation returns: +1 at odd τ, −1 at even τ from −65 to −2
# (τ = −65 … −2 is 64 sessions: 32 of each) and 0 at τ = −1
EVENT_WINDOW = {"A": (2.0, 1.0), "B": (1.0, 0.0), "C": (-1.0, 0.0)}


def _returns() -> np.ndarray:
    r = np.full(400, np.nan)
    for name, day0 in DAY0.items():
        for tau in range(-65, -1):
            r[day0 + tau] = 1.0 if tau % 2 else -1.0
        r[day0 - 1] = 0.0
        r[day0], r[day0 + 1] = EVENT_WINDOW[name]
    return r


def test_worked_example_by_hand() -> None:
    params = StudyParams(model="mean", window=(0, 1), estimation=(-65, -1))
    sessions = [date(2024, 1, 1) + timedelta(days=i) for i in range(400)]
    events = [StudyEvent(name, day0) for name, day0 in DAY0.items()]
    got = run_study(events, _returns(), sessions, params, instrument="KOSPI")

    # estimation: L = 65, mean r̄ = (32 − 32 + 0)/65 = 0, Σ(r − r̄)² = 64, σ̂² = 64/(65 − 1) = 1
    a, b, c = got.events
    assert [e.n_estimation for e in got.events] == [65, 65, 65]
    assert a.sigma_pct == pytest.approx(1.0)
    # AR = r − 0; CAR_A = 2 + 1 = 3, CAR_B = 1 + 0 = 1, CAR_C = −1 + 0 = −1
    assert (a.car_pct, b.car_pct, c.car_pct) == pytest.approx((3.0, 1.0, -1.0))
    # C = 1 + 1/65 = 66/65 for every τ; SCAR = CAR / (σ̂·√C) / √T = CAR·√(65/132)
    k = math.sqrt(65 / 132)  # 0.701729
    assert (a.scar, b.scar, c.scar) == pytest.approx((3 * k, k, -k))
    assert a.scar == pytest.approx(2.105188, abs=1e-6)

    # CAAR = (3 + 1 − 1)/3 = 1; s_CAR² = ((3−1)² + 0² + (−1−1)²)/2 = 4, s_CAR = 2
    assert got.n == 3
    assert got.caar_pct == pytest.approx(1.0)
    # t_cs = 1 / (2/√3) = √3/2 = 0.866025
    assert got.t_cs == pytest.approx(0.866025, abs=1e-6)
    # interval: 1 ± 1.96·2/√3 = 1 ± 2.263213
    assert got.caar_lower_pct == pytest.approx(-1.263213, abs=1e-6)
    assert got.caar_upper_pct == pytest.approx(3.263213, abs=1e-6)
    # z_patell = Σ SCAR / √(3·(65 − 1)/(65 − 3)) = 3k / √(192/62) = 2.105188 / 1.759765 = 1.196289
    assert got.z_patell == pytest.approx(1.196289, abs=1e-6)
    # t_bmp: SCARs are the CARs times k, so it equals t_cs = 0.866025
    assert got.t_bmp == pytest.approx(0.866025, abs=1e-6)
    # z_sign: p̂ = 3·32 positive / 3·65 = 32/65; w = 2 positive CARs (A, B)
    # z = (2 − 3·32/65) / √(3·(32/65)·(33/65)) = 0.523077 / 0.865923 = 0.604069
    assert got.z_sign == pytest.approx(0.604069, abs=1e-6)
    # z_rank: M = 67 ARs per event, U = rank/68. Average ranks:
    #   A: −1 ×32 → 16.5; 0 (τ=−1) → 33; +1 ×33 (32 + τ=1) → 50; 2 (τ=0) → 67
    #   B: −1 ×32 → 16.5; 0 ×2 (τ=−1, τ=1) → 33.5; +1 ×33 (32 + τ=0) → 51
    #   C: −1 ×33 (32 + τ=0) → 17; 0 ×2 (τ=−1, τ=1) → 34.5; +1 ×32 → 51.5
    # Ū: +1 τs (50 + 51 + 51.5)/204 = 0.747549; −1 τs (16.5 + 16.5 + 17)/204 = 0.245098;
    #    τ=−1 (33 + 33.5 + 34.5)/204 = 0.495098; τ=0 (67 + 51 + 17)/204 = 0.661765;
    #    τ=1 (50 + 33.5 + 34.5)/204 = 0.578431
    # S² = (32·0.247549² + 32·0.254902² + 0.004902² + 0.161765² + 0.078431²)/67 = 0.060784,
    # S = 0.246544; z = √2·((0.661765 + 0.578431)/2 − ½)/S = 1.414214·0.120098/0.246544 = 0.688901
    assert got.z_rank == pytest.approx(0.688901, abs=1e-6)
    # the path: CAAR(0, 0) = (2 + 1 − 1)/3 = 2/3, then CAAR(0, 1) = 1
    assert [p.caar_pct for p in got.path] == pytest.approx([2 / 3, 1.0])
