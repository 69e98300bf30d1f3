"""A batch folded into the windows it can change, skipping those still waiting for their anchor.

A window whose cut is at or after its instrument's watermark (every row seen so far is at or
before the cut) only takes bases: its base is the latest row of its instrument, the same for
all its waiting windows. So instead of writing that base into each waiting window on every
batch, the instrument's latest row is kept once (`PriceStore.latest_us` / `latest_close`), and
a window takes it when the watermark first passes its cut, just before the batch that passes it
is folded in (`fold_batch`), or when its state is read from outside (a snapshot:
`pending_bases`). Taking it again is harmless (a base is the later of the two), so what is
written is exactly what folding every batch into every window wrote.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.fold import fold_rows
from services.engine.history import later_of
from services.engine.rows import Rows

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Columns = dict[str, npt.NDArray[Any]]


def fold_batch(
    cols: Columns,
    rows: Rows,
    codes: I64,
    watermark_us: I64,
    before: tuple[I64, I64, F64],
) -> None:
    """Fold `rows` (sorted and de-duplicated per instrument; `codes` their instruments) into
    the live windows of their instruments whose cut the watermark has passed (`watermark_us`,
    after the batch, by code); `before` is, by code, the watermark and the latest row (time,
    close) before the batch. Windows the batch moves past their cut take their base first."""
    has_rows = np.zeros(len(watermark_us), dtype=np.bool_)
    has_rows[codes] = True
    windows = np.flatnonzero(cols["alive"] & has_rows[cols["inst"]])
    window_code = cols["inst"][windows]
    cut_us = cols["base_cut_us"][windows]
    passed = cut_us < watermark_us[window_code]
    watermark_before, latest_us, latest_close = before
    crossing = np.flatnonzero(passed & (cut_us >= watermark_before[window_code]))
    if len(crossing):
        at, code = windows[crossing], window_code[crossing]
        take_base(cols, at, latest_us[code], latest_close[code])
    fold_rows(cols, windows[passed], rows, codes)


def take_base(cols: Columns, windows: npt.NDArray[np.intp], row_us: I64, close: F64) -> None:
    """Windows take (`row_us`, `close`) as their base where it is later than theirs."""
    later = later_of(cols["base_us"], cols["base_price"], windows, row_us, close)
    cols["dirty"][windows[later]] = True


def pending_bases(columns: Columns, latest_us: int, latest_close: float) -> None:
    """The rows of one instrument's windows (copies, e.g. a snapshot's) with the bases still
    waiting in its latest row (`latest_us`, `latest_close`) taken: those whose cut is at or
    after it (the others took it already, or never will)."""
    cut_us = columns["base_cut_us"]
    waiting = np.flatnonzero(cut_us >= latest_us)
    if len(waiting):
        n = len(waiting)
        take_base(
            columns,
            waiting,
            np.full(n, latest_us, dtype=np.int64),
            np.full(n, latest_close, dtype=np.float64),
        )
