"""The compiled pass that picks the due and retiring windows (revisions.py's `due_positions` and
`retiring`) against the array rules it replaces (`due_revisions`), on random window stores."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine.history import NO_TIME
from services.engine.revisions import RevisionPolicy, due_positions, retiring
from tests.engine.numpy_rules.due import due_revisions

POLICY = RevisionPolicy(interval_us=60_000_000, extreme_step_pct=0.02, return_step_pct=0.05)


def store(seed: int, n: int, codes: int) -> dict[str, npt.NDArray[Any]]:
    """`n` windows of `codes` instruments, their columns drawn so every rule's branches occur:
    some not started, unsupported, final, dirty, held, near a step or an interval."""
    rng = np.random.default_rng(seed)

    def times(low: int, high: int) -> npt.NDArray[np.int64]:
        return rng.integers(low, high, n).astype(np.int64)

    def prices(centre: float) -> npt.NDArray[np.float64]:
        # steps of 0.01 around the centre: changes land on, below and above the steps
        return (centre + rng.integers(-8, 9, n) * 0.01).astype(np.float64)

    base_us = np.where(rng.random(n) < 0.2, NO_TIME, times(0, 1_000))
    sent_watermark_us = np.where(rng.random(n) < 0.2, NO_TIME, times(0, 400_000_000))
    return {
        "alive": rng.random(n) < 0.9,
        "inst": rng.integers(0, codes, n).astype(np.int64),
        "base_us": base_us,
        "n_obs": rng.integers(0, 3, n).astype(np.int64),
        "duration_us": rng.choice(np.asarray([0, 60, 300], dtype=np.int64), n),
        "max_interval_us": rng.choice(np.asarray([0, 60, 86_400], dtype=np.int64), n),
        "end_us": times(0, 500_000_000),
        "final": rng.random(n) < 0.3,
        "revision": rng.integers(0, 3, n).astype(np.int64),
        "sent_watermark_us": sent_watermark_us,
        "dirty": rng.random(n) < 0.3,
        "held": rng.random(n) < 0.1,
        "base_price": prices(100.0),
        "high": prices(100.05),
        "low": prices(99.95),
        "last_close": np.where(rng.random(n) < 0.05, np.nan, prices(100.0)),
        "sent_rise_pct": np.where(rng.random(n) < 0.2, np.nan, prices(0.0)),
        "sent_fall_pct": np.where(rng.random(n) < 0.2, np.nan, prices(0.0)),
        "sent_return_pct": np.where(rng.random(n) < 0.2, np.nan, prices(0.0)),
    }


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    codes=st.integers(1, 6),
    closing=st.booleans(),
)
def test_due_positions_follow_the_array_rules(seed: int, n: int, codes: int, closing: bool) -> None:
    cols = store(seed, n, codes)
    rng = np.random.default_rng(seed + 1)
    chosen = rng.random(codes) < 0.7
    watermark_us = rng.integers(0, 500_000_000, codes).astype(np.int64)
    until_us = np.where(rng.random(codes) < 0.5, NO_TIME, rng.integers(0, 500_000_000, codes))
    until = until_us.astype(np.int64) if closing else None

    positions, finalise = due_positions(
        cols, chosen, watermark_us=watermark_us, until_us=until, policy=POLICY
    )

    inst = cols["inst"]
    due = due_revisions(
        cols,
        watermark_us=watermark_us[inst],
        until_us=None if until is None else until[inst],
        policy=POLICY,
    )
    scope = cols["alive"] & chosen[inst]
    expected = np.flatnonzero(scope & due.any & ~(cols["held"] & ~due.finalise))
    assert positions.tolist() == expected.tolist()
    assert finalise.tolist() == due.finalise[expected].tolist()

    lateness_us = int(rng.integers(0, 100_000_000))
    ended = cols["end_us"] + lateness_us < watermark_us[inst]
    gone = np.flatnonzero(scope & cols["final"] & ended)
    retired = retiring(cols, chosen, watermark_us=watermark_us, lateness_us=lateness_us)
    assert retired.tolist() == gone.tolist()


def test_some_windows_are_due_and_some_not() -> None:
    """The random stores above exercise both outcomes (the property is not vacuous)."""
    cols = store(7, 2_000, 3)
    chosen = np.ones(3, dtype=np.bool_)
    watermark_us = np.full(3, 250_000_000, dtype=np.int64)
    positions, finalise = due_positions(
        cols, chosen, watermark_us=watermark_us, until_us=None, policy=POLICY
    )
    assert 0 < len(positions) < 2_000
    assert finalise.any()
    assert not finalise.all()


def test_a_column_of_another_length_is_refused() -> None:
    cols = store(1, 10, 2)
    cols["high"] = cols["high"][:5]
    with pytest.raises(ValueError, match="differ in length"):
        due_positions(
            cols,
            np.ones(2, dtype=np.bool_),
            watermark_us=np.zeros(2, dtype=np.int64),
            until_us=None,
            policy=POLICY,
        )


def test_an_instrument_code_outside_the_arrays_is_refused() -> None:
    cols = store(1, 10, 2)
    cols["inst"][3] = 5
    cols["alive"][3] = cols["final"][3] = True
    with pytest.raises(ValueError, match="out of range"):
        retiring(
            cols, np.ones(2, dtype=np.bool_), watermark_us=np.zeros(2, np.int64), lateness_us=0
        )
