"""Which windows get a new revision (services/engine/revisions.py) stated as NumPy array
operations: the reference the compiled pass (services/engine/native/src/due.rs) is held to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.engine.history import NO_TIME
from services.engine.revisions import _STEP_TOLERANCE_PCT, Columns, Mask, RevisionPolicy


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
