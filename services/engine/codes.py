"""Stable orders by instrument code (its position in the registry).

NumPy sorts integers of 16 bits or fewer stably by radix sort, in linear time; wider integers
by merge sort. Instrument codes nearly always fit 16 bits, so ordering rows or windows by code
is a radix sort: for 35,000 windows about a tenth of the time."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

_RADIX_CODES = 1 << 16


def by_code(codes: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """The stable order of `codes` (non-negative instrument codes): equal codes keep their
    order."""
    if len(codes) and int(codes.max()) < _RADIX_CODES:
        codes = codes.astype(np.uint16)
    order: npt.NDArray[np.intp] = np.argsort(codes, kind="stable")
    return order
