"""The significance baseline (DESIGN §4): close-to-close returns of the sessions before an anchor's
session, per instrument, cached by anchor session until one of those closes changes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Baseline:
    mean_pct: float
    std_pct: float


def baseline_from_closes(closes: Sequence[float]) -> Baseline | None:
    """Mean and sample std (ddof=1) of close-to-close returns in percent; None if too few."""
    if len(closes) < 3:
        return None
    returns = [(b / a - 1.0) * 100.0 for a, b in itertools.pairwise(closes)]
    mean = math.fsum(returns) / len(returns)
    var = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return Baseline(mean, math.sqrt(var))


class Baselines:
    """One instrument's baselines by anchor session, from its session closes (kept up to date
    by its `PriceHistory`)."""

    def __init__(self, session_closes: dict[int, tuple[int, float]], sessions: int) -> None:
        self._closes = session_closes
        self._sessions = sessions
        self._cache: dict[int, Baseline | None] = {}

    def of(self, session: int) -> Baseline | None:
        """The baseline of windows anchored in `session`; None without every session's close."""
        if session not in self._cache:
            wanted = range(session - self._sessions - 1, session)
            values = [self._closes[s][1] for s in wanted if s in self._closes]
            complete = wanted.start >= 0 and len(values) == self._sessions + 1
            self._cache[session] = baseline_from_closes(values) if complete else None
        return self._cache[session]

    def columns(self, sessions: npt.NDArray[np.int64]) -> tuple[F64, F64]:
        """Mean and std for each window's anchor session; NaN without enough history."""
        uniq, inverse = np.unique(sessions, return_inverse=True)
        mean = np.full(len(uniq), np.nan)
        std = np.full(len(uniq), np.nan)
        for u, session in enumerate(uniq.tolist()):
            baseline = self.of(session)
            if baseline is not None:
                mean[u], std[u] = baseline.mean_pct, baseline.std_pct
        return mean[inverse], std[inverse]

    def invalidate_after(self, changed_session: int) -> None:
        """A session's close changed: baselines of later anchor sessions include it."""
        for session in [s for s in self._cache if s > changed_session]:
            del self._cache[session]
