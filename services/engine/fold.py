"""Price rows folded into window aggregates, for the windows of one or many instruments at once.

Every aggregate is a mergeable maximum or minimum (base = last observation at or before the
cut, first/last in the window, the highest high and lowest low with their earliest times), so
out-of-order rows and duplicates give the same result as one sorted pass.

The fold is compiled (services/engine/native/src/fold.rs): a live batch goes into every live
window (waiting.py's `fold_batch`), the history kept so far into a late announcement's windows
(`fold_compiled`). tests/engine/numpy_rules/fold.py states the same rules as array operations:
the reference the compiled fold is tested against.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.compiled import fold_windows
from services.engine.history import later_of
from services.engine.rows import Rows

Positions = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Columns = dict[str, npt.NDArray[Any]]
WaitingBases = tuple[I64, I64, I64, F64]
"""By instrument code: the watermark after the batch, and before it with the latest row
(time, close)."""


def fold_compiled(
    cols: Columns,
    windows: Positions | None,
    rows: Rows,
    codes: I64,
    bases: WaitingBases | None = None,
) -> None:
    """Fold `rows` (sorted by (code, time) and de-duplicated; `codes` their instruments) into
    the aggregates of `windows`, in one compiled pass. With `bases` and no `windows`: into
    every live window of their instruments but those still waiting for their anchor after the
    batch (waiting.py's `fold_batch`)."""
    fold_windows(
        cols,
        rows.obs_us,
        rows.open,
        rows.high,
        rows.low,
        rows.close,
        rows.interval_us,
        codes,
        None if windows is None else np.ascontiguousarray(windows),
        bases,
    )


def take_base(cols: Columns, windows: Positions, row_us: I64, close: F64) -> None:
    """Windows take (`row_us`, `close`) as their base where it is later than theirs."""
    later = later_of(cols["base_us"], cols["base_price"], windows, row_us, close)
    cols["dirty"][windows[later]] = True
