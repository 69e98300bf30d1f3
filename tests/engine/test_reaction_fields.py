"""The compiled reaction numbers (reaction.py's `reaction_fields`) against the array rules they
replace (`reaction_columns`), bit for bit, on random windows: NaN baselines and prices, daily
bars, gaps at the open, benchmarks for some windows or all."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine.config import EngineConfig
from services.engine.reaction import reaction_fields
from services.engine.rows import DAY_US
from tests.engine.numpy_rules.reaction import reaction_columns

CONFIG = EngineConfig()


def windows(seed: int, n: int) -> dict[str, npt.NDArray[Any]]:
    rng = np.random.default_rng(seed)

    def prices(centre: float) -> npt.NDArray[np.float64]:
        values = centre + rng.integers(-30, 31, n) * 0.01
        return np.where(rng.random(n) < 0.05, np.nan, values).astype(np.float64)

    def times() -> npt.NDArray[np.int64]:
        return rng.integers(0, 10**12, n).astype(np.int64)

    return {
        "base_price": prices(100.0),
        "last_close": prices(100.0),
        "high": prices(100.2),
        "low": prices(99.8),
        "first_open": prices(100.0),
        "anchor_us": times(),
        "base_us": times(),
        "last_us": times(),
        "high_us": times(),
        "low_us": times(),
        "max_interval_us": rng.choice(np.asarray([0, 60_000_000, DAY_US], np.int64), n),
        "sessions_k": rng.choice(np.asarray([0.01, 0.5, 1.0, 1.0000000001, 2.3]), n),
        "at_open": rng.random(n) < 0.3,
    }


def same_bits(got: npt.NDArray[Any], want: npt.NDArray[Any], name: str) -> None:
    assert got.shape == want.shape, name
    if want.dtype.kind == "f":
        np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64), err_msg=name)
    else:
        np.testing.assert_array_equal(got, np.asarray(want, dtype=np.int64), err_msg=name)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 200),
    benchmark=st.sampled_from(["none", "all", "some"]),
)
def test_reaction_fields_are_the_array_rules_bit_for_bit(seed: int, n: int, benchmark: str) -> None:
    cols = windows(seed, n)
    rng = np.random.default_rng(seed + 1)
    idx = rng.permutation(n)[: rng.integers(1, n + 1)].astype(np.intp)
    m = len(idx)
    mean = np.where(rng.random(m) < 0.2, np.nan, rng.normal(0.0, 0.5, m))
    std = np.where(rng.random(m) < 0.2, np.nan, np.abs(rng.normal(0.0, 1.0, m)))
    std[rng.random(m) < 0.1] = 0.0
    bench = None if benchmark == "none" else rng.normal(0.0, 1.0, m)
    benchmarked = rng.random(m) < 0.5 if benchmark == "some" else None
    kwargs: dict[str, Any] = {
        "baseline_mean_pct": mean,
        "baseline_std_pct": std,
        "benchmark_return_pct": bench,
        "benchmarked": benchmarked,
        "config": CONFIG,
    }
    want = reaction_columns(cols, idx, **kwargs)
    got = reaction_fields(cols, idx, **kwargs)
    assert list(got) == list(want)
    for name, column in want.items():
        same_bits(got[name], column, name)


def test_every_direction_and_granularity_occurs() -> None:
    """The random windows above reach every label (the comparison is not vacuous)."""
    cols = windows(3, 2_000)
    got = reaction_fields(
        cols,
        np.arange(2_000, dtype=np.intp),
        baseline_mean_pct=np.zeros(2_000),
        baseline_std_pct=np.ones(2_000),
        benchmark_return_pct=None,
        config=CONFIG,
    )
    assert set(got["direction"].tolist()) == {0, 1, 2}
    assert set(got["data_granularity"].tolist()) == {3, 4, 5}


def test_a_position_outside_the_store_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        reaction_fields(
            windows(1, 5),
            np.asarray([7], dtype=np.intp),
            baseline_mean_pct=np.zeros(1),
            baseline_std_pct=np.zeros(1),
            benchmark_return_pct=None,
            config=CONFIG,
        )
