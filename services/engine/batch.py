"""A price batch as the observations of all its instruments at once: sorted by instrument code
(the instrument's position in the registry), each instrument's rows in arrival order, then
filtered for lateness and sorted and de-duplicated per instrument by whole-batch array
operations, whatever the number of instruments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from services.engine.calendar import SessionCalendar
from services.engine.history import NO_TIME, sorted_unique
from services.engine.rows import (
    DAY_US,
    PriceColumns,
    Rows,
    known_prices,
    observations,
)

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class BatchRows:
    """Observations of many instruments; `codes` (each row's instrument) is sorted."""

    codes: I64
    rows: Rows

    def segments(self) -> list[tuple[int, int, int]]:
        return segments(self.codes)

    def part(self, start: int, stop: int) -> Rows:
        return self.rows.slice(start, stop)


def segments(codes: I64) -> list[tuple[int, int, int]]:
    """(code, first row, stop row) of each instrument present in sorted `codes`."""
    if not len(codes):
        return []
    present, starts = np.unique(codes, return_index=True)
    stops = [*starts[1:].tolist(), len(codes)]
    return list(zip(present.tolist(), starts.tolist(), stops, strict=True))


@dataclass(frozen=True, slots=True)
class PriceBatch:
    observed: BatchRows
    invalid: int
    """Rows missing a required value, or with a price that is not positive."""
    unknown: int
    """Valid rows of instruments that the registry does not list."""
    off_calendar: int
    """Daily bars of a date that is not a session of their instrument."""


def price_batch(
    prices: pl.DataFrame, symbols: Sequence[str], calendars: Sequence[SessionCalendar]
) -> PriceBatch:
    """A PRICE_SCHEMA batch as observations of the instruments in `symbols` (with their
    `calendars`), with the same verdicts as `rows.split_prices` and `rows.observations`: both
    read the batch through `rows.known_prices`."""
    known = known_prices(prices, symbols)
    columns = known.columns
    codes = known.codes.astype(np.int64)
    rows = Rows(
        columns.ts_us + columns.interval_us,
        columns.open,
        columns.high,
        columns.low,
        columns.close,
        columns.interval_us,
    )
    off = 0
    daily = columns.interval_us == DAY_US
    if daily.any():  # a daily bar is observed at its session's close: per calendar
        rows, codes, off = _daily_bars(columns, rows, codes, calendars)
    return PriceBatch(BatchRows(codes, rows), known.invalid, known.unknown, off)


def _daily_bars(
    columns: PriceColumns, rows: Rows, codes: I64, calendars: Sequence[SessionCalendar]
) -> tuple[Rows, I64, int]:
    """The rows again, with each instrument that has daily bars observed by its calendar."""
    batch = BatchRows(codes, rows)
    with_daily = set(np.unique(codes[columns.interval_us == DAY_US]).tolist())
    parts: list[Rows] = []
    part_codes: list[I64] = []
    off = 0
    for code, start, stop in batch.segments():
        part = batch.part(start, stop)
        if code in with_daily:
            part, dropped = observations(columns.take(np.arange(start, stop)), calendars[code])
            off += dropped
        parts.append(part)
        part_codes.append(np.full(len(part), code, dtype=np.int64))
    return Rows.concat(parts), np.concatenate(part_codes), off


def accept(batch: BatchRows, watermarks_us: I64, lateness_us: int) -> tuple[BatchRows, I64, int]:
    """The rows that are not late, sorted and de-duplicated per instrument; late rows per code
    (`watermarks_us` is indexed by code); and how many duplicates were dropped."""
    codes, rows = batch.codes, batch.rows
    seen = _arrival_watermarks(codes, rows.obs_us, watermarks_us)
    keep = rows.obs_us >= seen - lateness_us
    late = np.bincount(codes[~keep], minlength=len(watermarks_us))
    if not keep.all():
        codes, rows = codes[keep], rows.take(keep)
    n_in = len(codes)
    codes, rows = sorted_unique(codes, rows)
    return BatchRows(codes, rows), late, n_in - len(codes)


@dataclass(frozen=True, slots=True)
class SessionEnds:
    """The last row of each instrument's session in a batch, one per (code, session), in
    (code, session) order."""

    codes: I64
    sessions: I64
    obs_us: I64
    close: npt.NDArray[np.float64]


def session_ends(
    batch: BatchRows, calendar_of: I64, calendars: Sequence[SessionCalendar]
) -> SessionEnds:
    """The last row of each instrument's session in the (sorted, de-duplicated) batch: its
    lexicographic maximum. `calendar_of` maps a code to its calendar in `calendars`
    (instruments share a few)."""
    codes, obs_us = batch.codes, batch.rows.obs_us
    if len(calendars) == 1:
        sessions = calendars[0].sessions_of(obs_us)
    else:
        sessions = np.full(len(codes), -1, dtype=np.int64)
        group = calendar_of[codes]
        for g in np.unique(group).tolist():
            at = np.flatnonzero(group == g)
            sessions[at] = calendars[g].sessions_of(obs_us[at])
    # an instrument's rows of one session are contiguous (its rows are in time order, and
    # a time outside every session, -1, lies between two sessions): each run's last row
    last = np.empty(len(codes), dtype=np.bool_)
    last[-1:] = True
    np.not_equal(sessions[1:], sessions[:-1], out=last[:-1])
    last[:-1] |= codes[1:] != codes[:-1]
    idx = np.flatnonzero(last & (sessions >= 0))
    return SessionEnds(codes[idx], sessions[idx], obs_us[idx], batch.rows.close[idx])


def _arrival_watermarks(codes: I64, obs_us: I64, watermarks_us: I64) -> I64:
    """The watermark each row saw on arrival, as if the batch were fed one event at a time:
    its instrument's watermark and the rows of that instrument before it."""
    before = np.full(len(codes), NO_TIME, dtype=np.int64)
    if len(codes) > 1:
        low_us, span_us = int(obs_us.min()), int(obs_us.max() - obs_us.min()) + 1
        if (int(codes[-1]) + 1) * span_us < 2**62:
            # rows of a lower code have lower keys, so the running maximum stays per instrument
            shift = codes * span_us
            running = np.maximum.accumulate(shift + (obs_us - low_us)) - shift + low_us
            before[1:] = running[:-1]
        else:  # a batch over centuries: one instrument at a time
            before[1:] = obs_us[:-1]
            for _, start, stop in segments(codes):
                before[start + 1 : stop] = np.maximum.accumulate(obs_us[start : stop - 1])
        before[1:][codes[1:] != codes[:-1]] = NO_TIME
    out: I64 = np.maximum(before, watermarks_us[codes])
    return out
