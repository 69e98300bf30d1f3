"""The numbers of one reaction (services/engine/reaction.py) stated as NumPy array operations:
the reference the compiled pass (services/engine/native/src/reaction.rs) is held to, bit for
bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.config import EngineConfig
from services.engine.reaction import _DAILY, _DOWN, _FLAT, _MINUTE, _TICK, _UP, F64, Columns
from services.engine.rows import DAY_US
from services.engine.span import covered_sessions


def reaction_columns(
    cols: Columns,
    idx: npt.NDArray[np.intp],
    *,
    baseline_mean_pct: F64,
    baseline_std_pct: F64,
    benchmark_return_pct: F64 | None,
    benchmarked: npt.NDArray[np.bool_] | None = None,
    config: EngineConfig,
) -> dict[str, npt.NDArray[Any]]:
    """`services.engine.reaction.reaction_fields` (its arguments and result, as its docstring
    gives them) as NumPy array operations."""
    base = cols["base_price"][idx]
    anchor = cols["anchor_us"][idx]
    ret = _pct(cols["last_close"][idx], base)
    rise = _pct(cols["high"][idx], base)
    fall = _pct(cols["low"][idx], base)
    peak = np.where(np.abs(rise) >= np.abs(fall), cols["high_us"][idx], cols["low_us"][idx])
    at_open = cols["at_open"][idx]
    gap = np.full(len(idx), np.nan)
    if at_open.any():  # most announcements come inside a session: no gap to compute
        gap = np.where(at_open, _pct(cols["first_open"][idx], base), np.nan)
    max_interval_us = cols["max_interval_us"][idx]
    k = covered_sessions(cols["sessions_k"][idx], max_interval_us)
    expected = k * baseline_mean_pct
    spread = np.sqrt(k) * baseline_std_pct
    known = spread > 0  # False where there is no baseline (NaN)
    z = np.full(len(idx), np.nan)
    np.divide(ret - expected, spread, out=z, where=known)
    significant = np.where(known, np.abs(z) >= config.significance_z, np.nan)
    abnormal = ret - expected
    if benchmark_return_pct is not None:
        over_benchmark = ret - benchmark_return_pct
        if benchmarked is None:
            abnormal = over_benchmark
        else:
            abnormal = np.where(benchmarked, over_benchmark, abnormal)
    direction = np.where(ret <= -config.flat_threshold_pct, _DOWN, _FLAT)
    direction[ret >= config.flat_threshold_pct] = _UP
    granularity = np.full(len(idx), _TICK)
    if max_interval_us.any():  # bars among the observations
        granularity = np.where(
            max_interval_us >= DAY_US, _DAILY, np.where(max_interval_us > 0, _MINUTE, _TICK)
        )
    return {
        "anchor_at": anchor,
        "base_price": base,
        "base_at": cols["base_us"][idx],
        "last_price": cols["last_close"][idx],
        "last_at": cols["last_us"][idx],
        "return_pct": ret,
        "max_rise_pct": rise,
        "max_fall_pct": fall,
        "peak_at": peak,
        "time_to_peak_s": (peak - anchor) / 1e6,
        "gap_pct": gap,
        "baseline_mean_pct": baseline_mean_pct,
        "baseline_std_pct": baseline_std_pct,
        "z_score": z,
        "abnormal_return_pct": abnormal,
        "significant": significant,
        "direction": direction,
        "data_granularity": granularity,
    }


def _pct(value: F64, base: F64) -> F64:
    out: F64 = (value / base - 1.0) * 100.0
    return out
