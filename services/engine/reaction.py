"""The numbers of one reaction (DESIGN §4) from a window's aggregates; no state, no I/O.

The engine computes them in one compiled pass (`reaction_fields`:
services/engine/native/src/reaction.rs). tests/engine/numpy_rules/reaction.py states them as
array operations: the reference the compiled pass is tested against, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.compiled import reaction_numbers
from services.engine.config import EngineConfig
from services.engine.rows import DAY_US
from services.engine.span import ROUNDING

F64 = npt.NDArray[np.float64]
Columns = dict[str, npt.NDArray[Any]]
LABELS = np.asarray(["up", "down", "flat", "tick", "1m", "1d"], dtype=object)
"""`direction` and `data_granularity` by their code in `reaction_fields`."""
_UP, _DOWN, _FLAT, _TICK, _MINUTE, _DAILY = range(6)


def pct(value: float, base: float) -> float:
    return (value / base - 1.0) * 100.0


def reaction_fields(
    cols: Columns,
    idx: npt.NDArray[np.intp],
    *,
    baseline_mean_pct: F64,
    baseline_std_pct: F64,
    benchmark_return_pct: F64 | None,
    benchmarked: npt.NDArray[np.bool_] | None = None,
    config: EngineConfig,
) -> dict[str, npt.NDArray[Any]]:
    """Signal fields of the windows `idx` from their aggregates (see windows.py), in one
    compiled pass over them.

    Baseline arrays hold one value per window, NaN where there is too little history;
    `benchmark_return_pct` is None where no window's instrument has a benchmark, else each
    window's benchmark return (NaN where the benchmark has none yet), used where `benchmarked`
    (every window if None). Times stay in µs; NaN stands for null; `direction` and
    `data_granularity` are codes into `LABELS`.
    """
    return reaction_numbers(
        cols,
        idx,
        baseline_mean_pct,
        baseline_std_pct,
        benchmark_return_pct,
        benchmarked,
        config.significance_z,
        config.flat_threshold_pct,
        DAY_US,
        ROUNDING,
    )
