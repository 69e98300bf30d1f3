"""The largest value of many slices of one array at once, by a sparse table.

Row `j` of the table holds, for every start `i`, where the largest value of
`values[i : i + 2**j]` is (the first on ties) and that value. A slice `[start, stop)` is the
union of the two row-`j` ranges that begin at `start` and end at `stop`, for the largest `2**j`
not longer than it, so each slice is answered by one comparison whatever its length: building
costs one pass over the array per row, and every slice is then read at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


def first_argmax(values: npt.NDArray[Any], start: I64, stop: I64) -> I64:
    """Per non-empty slice `values[start:stop]`: the position of its largest value, the first
    one where several are equal (as `np.argmax` of each slice)."""
    if not len(start):
        return np.empty(0, dtype=np.int64)
    row = np.frexp(stop - start)[1].astype(np.int64) - 1  # the largest 2**row not longer
    where, best = _sparse_table(values, int(row.max()))
    right = stop - (1 << row)
    # the left range's first maximum comes first: it wins ties
    later = best[row, right] > best[row, start]
    out: I64 = np.where(later, where[row, right], where[row, start])
    return out


def _sparse_table(
    values: npt.NDArray[Any], rows: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Rows 0 to `rows`: by a range's start, the position of its first largest value and that
    value (a row's last `2**row - 1` cells are never read)."""
    n = len(values)
    where = np.empty((rows + 1, n), dtype=np.int64)
    best = np.empty((rows + 1, n), dtype=values.dtype)
    where[0] = np.arange(n)
    best[0] = values
    for j in range(1, rows + 1):
        half, size = 1 << (j - 1), n - (1 << j) + 1
        w, b = where[j - 1], best[j - 1]
        later = b[half : half + size] > b[:size]
        where[j, :size] = np.where(later, w[half : half + size], w[:size])
        best[j, :size] = np.where(later, b[half : half + size], b[:size])
    return where, best
