"""Exchange calendars' sessions kept on disk between processes.

exchange_calendars spends seconds of CPU building a calendar such as XKRX (pandas works out every
holiday rule over two centuries) on each process start: every engine replica, api replica and
command. The sessions it yields are a small table that only a new version of the library can
change, so they are saved once per code, range and library version, and read back in
milliseconds. The directory is chosen at start-up (`MR_CALENDAR_CACHE_DIR`); without one, or
when a file cannot be read or written, the calendar is built as before.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, fields
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

I64 = npt.NDArray[np.int64]
NO_BREAK = np.iinfo(np.int64).min
"""Marks a session without a midday break in the break columns."""

_directory: Path | None = None


@dataclass(frozen=True)
class Schedule:
    """A calendar's sessions: labels as date ordinals, times in microseconds since the epoch
    (UTC), and break start/end or `NO_BREAK`."""

    tz: str
    labels: I64
    opens_us: I64
    closes_us: I64
    break_starts_us: I64
    break_ends_us: I64


_FIELDS = tuple(field.name for field in fields(Schedule))
"""What a saved file holds: an array per field of `Schedule`, so saving and loading stay in step."""


def keep_calendars_in(directory: Path | None) -> None:
    """Where schedules are kept from now on in this process (None: nowhere)."""
    global _directory
    _directory = directory


def load(code: str, start: date, end: date) -> Schedule | None:
    """The schedule saved for this code and range by this library version, if any."""
    path = _path(code, start, end)
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            columns = {name: saved[name] for name in _FIELDS}
        return Schedule(**{**columns, "tz": str(columns["tz"])})
    except (OSError, ValueError, KeyError) as exc:
        log.warning("calendar cache %s unreadable (%s); building the calendar", path.name, exc)
        return None


def save(code: str, start: date, end: date, schedule: Schedule) -> None:
    """Keep `schedule` for the next process; a file appears whole or not at all."""
    path = _path(code, start, end)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=path.parent, suffix=".partial")
        columns: dict[str, Any] = {name: np.asarray(getattr(schedule, name)) for name in _FIELDS}
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **columns)
        os.replace(partial, path)
    except OSError as exc:
        log.warning("calendar cache %s not written: %s", path.name, exc)


def _path(code: str, start: date, end: date) -> Path | None:
    if _directory is None:
        return None
    library = version("exchange_calendars")
    return _directory / f"{code}_{start.isoformat()}_{end.isoformat()}_{library}.npz"
