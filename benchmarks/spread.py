"""Figures over repeated rounds: min / median / max, so a loaded machine shows as spread."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def spread(values: Sequence[float], fmt: str = ",.0f") -> str:
    """`min / median / max` of `values`, formatted with `fmt`."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:{fmt}} / {mid:{fmt}} / {high:{fmt}}"
