"""Which windows get a new revision now (DESIGN §4 "Revisions"), decided for all at once.

Per reaction: the first revision as soon as the window has a base and an observation; a
provisional one on a material change (a new extreme or a moved return, by at least a step) but
at most once per interval of event time, so a change inside the interval waits for the first
evaluation after it and is sent only if it is still material then; final and corrected
revisions at once, never held.

The engine decides through one compiled pass (`due_positions`, `retiring`:
services/engine/native/src/due.rs); `due_revisions` states the rules as array operations and is
its reference (tests/engine/test_due_windows.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.config import EngineConfig
from services.engine.history import NO_TIME
from services.engine.revision_json import due_windows, retiring_windows

Mask = npt.NDArray[np.bool_]
Columns = dict[str, npt.NDArray[Any]]
_STEP_TOLERANCE_PCT = 1e-9
"""Float noise allowed when a change is compared with a step ("at least 0.02 pp")."""


@dataclass(frozen=True, slots=True)
class RevisionPolicy:
    interval_us: int
    extreme_step_pct: float
    return_step_pct: float

    @classmethod
    def from_config(cls, config: EngineConfig) -> RevisionPolicy:
        return cls(
            int(config.revision_interval_s * 1_000_000),
            config.min_extreme_step_pct,
            config.min_return_step_pct,
        )


@dataclass(frozen=True, slots=True)
class DueRevisions:
    """Boolean masks over a window table, one per reason for a new revision."""

    first: Mask
    finalise: Mask
    """Provisional windows whose end the event time (or a market closure) has reached."""
    provisional: Mask
    correction: Mask
    """Final windows whose inputs changed: a corrected revision if their content did."""

    @property
    def any(self) -> Mask:
        return self.first | self.finalise | self.provisional | self.correction


def due_positions(
    cols: Columns,
    chosen: Mask,
    *,
    watermark_us: npt.NDArray[np.int64],
    until_us: npt.NDArray[np.int64] | None,
    policy: RevisionPolicy,
) -> tuple[npt.NDArray[np.intp], Mask]:
    """The positions (ascending) of the live windows of the instruments `chosen` (a mask by
    code) that send a revision now, and whether each is a final one: `due_revisions` for each
    window at its instrument's `watermark_us` (by code; `until_us`, by code: where a closed
    market's windows end), less the restored windows still catching up but for a final they
    reach; decided in one compiled pass over the store (services/engine/native/src/due.rs)."""
    positions, finalise = due_windows(
        cols,
        chosen,
        watermark_us,
        until_us,
        policy.interval_us,
        policy.extreme_step_pct - _STEP_TOLERANCE_PCT,
        policy.return_step_pct - _STEP_TOLERANCE_PCT,
    )
    return positions, finalise


def retiring(
    cols: Columns, chosen: Mask, *, watermark_us: npt.NDArray[np.int64], lateness_us: int
) -> npt.NDArray[np.intp]:
    """The positions (ascending) of the live final windows of the instruments `chosen` that no
    accepted tick can reach any more (ended more than `lateness_us` before their instrument's
    `watermark_us`, by code)."""
    return retiring_windows(cols, chosen, watermark_us, lateness_us)


def due_revisions(
    cols: Columns,
    *,
    watermark_us: int | npt.NDArray[np.int64],
    until_us: int | npt.NDArray[np.int64] | None,
    policy: RevisionPolicy,
) -> DueRevisions:
    """The windows that get a revision at this watermark: one for all, or per window (each
    window's instrument's); `until_us` is where a closed market's windows end."""
    started = cols["alive"] & (cols["base_us"] > NO_TIME) & (cols["n_obs"] > 0)
    # a horizon finer than the data (5m over daily bars) is never emitted
    supported = (cols["duration_us"] == 0) | (cols["max_interval_us"] <= cols["duration_us"])
    live = started & supported
    final = cols["final"]
    reached = cols["end_us"] <= watermark_us
    if until_us is not None:
        reached |= cols["end_us"] <= until_us
    first = live & (cols["revision"] == 0)
    finalise = live & ~final & reached
    waiting = live & ~final & ~reached & ~first
    waiting &= watermark_us - cols["sent_watermark_us"] >= policy.interval_us
    provisional = np.zeros_like(waiting)
    provisional[waiting] = material_change(cols, np.flatnonzero(waiting), policy)
    return DueRevisions(first, finalise, provisional, live & final & cols["dirty"])


def material_change(cols: Columns, idx: npt.NDArray[np.intp], policy: RevisionPolicy) -> Mask:
    """Whether each window moved materially from its last revision (`idx`: started windows)."""
    base = cols["base_price"][idx]
    step_x = policy.extreme_step_pct - _STEP_TOLERANCE_PCT
    step_r = policy.return_step_pct - _STEP_TOLERANCE_PCT
    rise = _pct(cols["high"][idx], base) - cols["sent_rise_pct"][idx]
    fall = cols["sent_fall_pct"][idx] - _pct(cols["low"][idx], base)
    moved = np.abs(_pct(cols["last_close"][idx], base) - cols["sent_return_pct"][idx])
    changed: Mask = (rise >= step_x) | (fall >= step_x) | (moved >= step_r)
    return changed


def _pct(value: npt.NDArray[np.float64], base: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = (value / base - 1.0) * 100.0
    return out
