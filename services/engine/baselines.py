"""The significance baseline (DESIGN §4): close-to-close returns of the sessions before an anchor's
session, per instrument, cached by (instrument, anchor session) until one of those closes
changes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.engine.session_closes import SessionCloses

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_NO_CHANGE = np.iinfo(np.int64).max
_NONE = -1


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
    """Every instrument's baselines by anchor session, from its session closes.

    A changed close drops the cached baselines of later anchor sessions of its instrument; the
    changes of a batch are noted for all instruments at once and applied when baselines are
    next read, in Python only for the instruments with a cached baseline they reach."""

    def __init__(self, closes: SessionCloses, sessions: int) -> None:
        n_codes = len(closes.latest_session)
        self._closes = closes
        self._sessions = sessions
        self._cache: dict[tuple[int, int], Baseline | None] = {}
        self._cached: list[set[int]] = [set() for _ in range(n_codes)]
        self._latest_cached = np.full(n_codes, _NONE, dtype=np.int64)
        self._changed_from = np.full(n_codes, _NO_CHANGE, dtype=np.int64)
        # each instrument's last baseline looked up, in arrays: a batch finds them all at once
        self._hot_session = np.full(n_codes, _NONE, dtype=np.int64)
        self._hot_mean = np.full(n_codes, np.nan)
        self._hot_std = np.full(n_codes, np.nan)

    def of(self, code: int, session: int) -> Baseline | None:
        """The baseline of windows of `code` anchored in `session`; None without every
        session's close."""
        self._apply_changes()
        return self._of(code, session)

    def _of(self, code: int, session: int) -> Baseline | None:
        key = (code, session)
        if key in self._cache:
            return self._cache[key]
        wanted = range(session - self._sessions - 1, session)
        values: list[float] = []
        for s in wanted if wanted.start >= 0 else ():
            close = self._closes.get(code, s)
            if close is None:
                break  # incomplete: no baseline
            values.append(close[1])
        complete = len(values) == self._sessions + 1
        baseline = self._cache[key] = baseline_from_closes(values) if complete else None
        self._cached[code].add(session)
        self._latest_cached[code] = max(int(self._latest_cached[code]), session)
        return baseline

    def columns(self, codes: I64, sessions: I64) -> tuple[F64, F64]:
        """Mean and std for each window (of instrument `codes`, anchored in `sessions`); NaN
        without enough history. Each instrument's last baseline is taken from arrays; the
        others are looked up once per (instrument, session) and become the last."""
        self._apply_changes()
        mean, std = self._hot_mean[codes], self._hot_std[codes]
        missed = np.flatnonzero(self._hot_session[codes] != sessions)
        if not len(missed):
            return mean, std
        codes, sessions = codes[missed], sessions[missed]
        low = int(sessions.min())
        keys = codes * (int(sessions.max()) - low + 1) + (sessions - low)
        distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        found_mean = np.full(len(distinct), np.nan)
        found_std = np.full(len(distinct), np.nan)
        pairs = zip(codes[first].tolist(), sessions[first].tolist(), strict=True)
        for u, (code, session) in enumerate(pairs):
            baseline = self._of(code, session)
            if baseline is not None:
                found_mean[u], found_std[u] = baseline.mean_pct, baseline.std_pct
            self._hot_session[code] = session
            self._hot_mean[code], self._hot_std[code] = found_mean[u], found_std[u]
        mean[missed], std[missed] = found_mean[inverse], found_std[inverse]
        return mean, std

    def changed(self, codes: I64, sessions: I64) -> None:
        """The closes of `sessions` of instruments `codes` changed: baselines of later anchor
        sessions include them."""
        np.minimum.at(self._changed_from, codes, sessions)

    def forget(self, code: int) -> None:
        for session in self._cached[code]:
            del self._cache[(code, session)]
        self._cached[code] = set()
        self._latest_cached[code] = _NONE
        self._changed_from[code] = _NO_CHANGE
        self._hot_session[code] = _NONE

    def _apply_changes(self) -> None:
        self._hot_session[self._changed_from < self._hot_session] = _NONE
        stale = np.flatnonzero(self._changed_from < self._latest_cached)
        for code in stale.tolist():
            after = int(self._changed_from[code])
            cached = self._cached[code]
            for session in [s for s in cached if s > after]:
                del self._cache[(code, session)]
                cached.discard(session)
            self._latest_cached[code] = max(cached, default=_NONE)
        self._changed_from.fill(_NO_CHANGE)
