"""The numbers of one reaction (DESIGN §4) from a window's aggregates; no state, no I/O."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.engine.config import EngineConfig
from services.engine.rows import DAY_US

DAILY_GRANULARITY = "1d"


@dataclass(frozen=True, slots=True)
class Baseline:
    mean_pct: float
    std_pct: float


@dataclass(frozen=True, slots=True)
class Aggregates:
    """What the window has seen (see windows.py); times in microseconds UTC."""

    anchor_us: int
    at_open: bool
    base_t: int
    base_p: float
    first_o: float
    last_t: int
    last_c: float
    hi: float
    hi_t: int
    lo: float
    lo_t: int
    max_iv_us: int


def baseline_from_closes(closes: Sequence[float]) -> Baseline | None:
    """Mean and sample std (ddof=1) of close-to-close returns in percent; None if too few."""
    if len(closes) < 3:
        return None
    returns = [(b / a - 1.0) * 100.0 for a, b in itertools.pairwise(closes)]
    mean = math.fsum(returns) / len(returns)
    var = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return Baseline(mean, math.sqrt(var))


def granularity(max_iv_us: int) -> str:
    if max_iv_us >= DAY_US:
        return DAILY_GRANULARITY
    return "1m" if max_iv_us > 0 else "tick"


def pct(value: float, base: float) -> float:
    return (value / base - 1.0) * 100.0


def content(
    agg: Aggregates,
    *,
    sessions_k: float,
    baseline: Baseline | None,
    benchmark_return_pct: float | None,
    has_benchmark: bool,
    confounders: Iterable[str],
    config: EngineConfig,
) -> dict[str, Any]:
    """Signal fields except identity, revision flags and `emitted_at` (times still in µs)."""
    ret = pct(agg.last_c, agg.base_p)
    rise = pct(agg.hi, agg.base_p)
    fall = pct(agg.lo, agg.base_p)
    peak_us = agg.hi_t if abs(rise) >= abs(fall) else agg.lo_t
    mean = std = z = abnormal = None
    significant: bool | None = None
    expected: float | None = None
    if baseline is not None:
        mean, std = baseline.mean_pct, baseline.std_pct
        expected = sessions_k * mean
        spread = math.sqrt(sessions_k) * std
        if spread > 0:
            z = (ret - expected) / spread
            significant = abs(z) >= config.significance_z
    if has_benchmark:
        abnormal = None if benchmark_return_pct is None else ret - benchmark_return_pct
    elif expected is not None:
        abnormal = ret - expected
    if ret >= config.flat_threshold_pct:
        direction = "up"
    elif ret <= -config.flat_threshold_pct:
        direction = "down"
    else:
        direction = "flat"
    return {
        "anchor_at": agg.anchor_us,
        "base_price": agg.base_p,
        "base_at": agg.base_t,
        "last_price": agg.last_c,
        "last_at": agg.last_t,
        "return_pct": ret,
        "max_rise_pct": rise,
        "max_fall_pct": fall,
        "peak_at": peak_us,
        "time_to_peak_s": (peak_us - agg.anchor_us) / 1e6,
        "gap_pct": pct(agg.first_o, agg.base_p) if agg.at_open else None,
        "baseline_mean_pct": mean,
        "baseline_std_pct": std,
        "z_score": z,
        "abnormal_return_pct": abnormal,
        "significant": significant,
        "direction": direction,
        "confounders": sorted(confounders),
        "data_granularity": granularity(agg.max_iv_us),
    }
