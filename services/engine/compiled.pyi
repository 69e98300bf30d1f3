"""Rows of columns written as JSON objects (Rust: services/engine/native/src/lib.rs, which
documents the fields' kinds); windows' confounders as JSON arrays (src/confounders.rs); which
windows of the engine's store are due or retiring
(src/due.rs); a batch of rows folded into the store's windows (src/fold.rs); the numbers of
the reactions revised (src/reaction.rs)."""

from typing import Any, final

import numpy as np
import numpy.typing as npt

NO_TIME: int
"""A time column's value for no time (below every real time)."""

@final
class Written:
    """Written bytes, read through the buffer protocol (read-only, not copied); the buffer goes
    back to the writer's pool once nothing reads it."""

    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...

def write_objects(
    fields: list[tuple[Any, ...]], rows: int
) -> tuple[Written, npt.NDArray[np.int64]]:
    """One JSON object per row, of `fields` (`(kind, key, column, ...)`) in order, one after the
    other with a newline between two, and where each row ends."""

def confounders_json(
    times: npt.NDArray[np.int64],
    texts: bytes,
    text_ends: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    own: npt.NDArray[np.int64],
) -> list[bytes]:
    """For each window `w`, the JSON array of the ids `i` (in their order) anchored at
    `times[i]` in [`starts[w]`, `ends[w]`], but `own[w]` (-1: none), each id written as its
    JSON text `texts[text_ends[i - 1]:text_ends[i]]`."""

def due_windows(
    columns: dict[str, npt.NDArray[Any]],
    chosen: npt.NDArray[np.bool_],
    watermark_us: npt.NDArray[np.int64],
    until_us: npt.NDArray[np.int64] | None,
    interval_us: int,
    extreme_step_pct: float,
    return_step_pct: float,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """The positions of the live windows of the instruments `chosen` that send a revision at
    their instrument's watermark, and whether each is a final one (`due_revisions` of
    tests/engine/numpy_rules/due.py, less restored windows still catching up)."""

def retiring_windows(
    columns: dict[str, npt.NDArray[Any]],
    chosen: npt.NDArray[np.bool_],
    watermark_us: npt.NDArray[np.int64],
    lateness_us: int,
) -> npt.NDArray[np.intp]:
    """The positions of the live final windows of the instruments `chosen` ended more than
    `lateness_us` before their instrument's watermark."""

def fold_windows(
    columns: dict[str, npt.NDArray[Any]],
    obs_us: npt.NDArray[np.int64],
    open: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    interval_us: npt.NDArray[np.int64],
    codes: npt.NDArray[np.int64],
    windows_at: npt.NDArray[np.intp] | None,
    marks: tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
    ]
    | None,
) -> None:
    """Rows sorted by (code, time) folded into the windows at `windows_at` (`fold_rows` of
    tests/engine/numpy_rules/fold.py); or, with `marks` (by code: the watermark after the
    batch, and before it with the latest row), into every live window of their instruments,
    except those still waiting after the batch (services/engine/waiting.py's `fold_batch`)."""

def reaction_numbers(
    columns: dict[str, npt.NDArray[Any]],
    positions: npt.NDArray[np.intp],
    baseline_mean_pct: npt.NDArray[np.float64],
    baseline_std_pct: npt.NDArray[np.float64],
    benchmark_return_pct: npt.NDArray[np.float64] | None,
    benchmarked: npt.NDArray[np.bool_] | None,
    significance_z: float,
    flat_threshold_pct: float,
    day_us: int,
    rounding: float,
) -> dict[str, npt.NDArray[Any]]:
    """The signal fields of the windows at `positions` (`reaction_columns` of
    tests/engine/numpy_rules/reaction.py)."""
