"""Which windows get a new revision now (DESIGN §4 "Revisions"), decided for all at once.

Per reaction: the first revision as soon as the window has a base and an observation; a
provisional one on a material change (a new extreme or a moved return, by at least a step) but
at most once per interval of event time, so a change inside the interval waits for the first
evaluation after it and is sent only if it is still material then; final and corrected
revisions at once, never held.

The engine decides in one compiled pass (`due_positions`, `retiring`:
services/engine/native/src/due.rs). tests/engine/numpy_rules/due.py states the same rules as
array operations: the reference the compiled pass is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.compiled import due_windows, retiring_windows
from services.engine.config import EngineConfig

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


def due_positions(
    cols: Columns,
    chosen: Mask,
    *,
    watermark_us: npt.NDArray[np.int64],
    until_us: npt.NDArray[np.int64] | None,
    policy: RevisionPolicy,
) -> tuple[npt.NDArray[np.intp], Mask]:
    """The positions (ascending) of the live windows of the instruments `chosen` (a mask by
    code) that send a revision now, and whether each is a final one, decided in one compiled
    pass over the store (services/engine/native/src/due.rs).

    A window sends once it has a base and an observation and its horizon is not finer than its
    data: its first revision; a final one once its end is at or before its instrument's
    `watermark_us` (by code) or `until_us` (by code: where a closed market's windows end); a
    provisional one on a material change, at most once per `policy.interval_us` of event time;
    a corrected one where a final window's inputs changed. A restored window still catching up
    sends nothing but a final it reaches."""
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
