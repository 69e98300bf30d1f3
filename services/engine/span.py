"""How many sessions a reaction window's return really spans (DESIGN §4, significance).

The expected move and spread of a horizon scale with the sessions its return covers. With data
at least as fine as the anchor, that is the trading time from the anchor to the window's end, in
sessions (a fraction for an anchor inside a session). Daily bars cannot start a return inside a
session: the window takes the whole bar, so the partial first session counts whole (`close` is
k = 1, `close+1` is k = 2), never the fraction of it left after the anchor.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from services.engine.rows import DAY_US

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
# sums of segment fractions may land a hair above a whole number of sessions
ROUNDING = 1e-9


def covered_sessions(trading_sessions: F64, max_interval_us: I64) -> F64:
    """Sessions spanned by each window's return: `trading_sessions` (anchor to end, in
    sessions) where the data is finer than a day, rounded up to whole bars where it holds a
    daily bar."""
    daily = max_interval_us >= DAY_US
    if not daily.any():
        return trading_sessions
    whole: F64 = np.ceil(trading_sessions - ROUNDING)
    out: F64 = np.where(daily, whole, trading_sessions)
    return out
