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

from services.engine.fold import fold_compiled, take_base
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
    the live windows of their instruments, except those still waiting after the batch
    (`watermark_us`, after the batch, by code); `before` is, by code, the watermark and the
    latest row (time, close) before the batch. Windows the batch moves past their cut take
    their base first."""
    fold_compiled(cols, None, rows, codes, (watermark_us, *before))


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
