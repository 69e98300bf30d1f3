"""The prices of every instrument in one store: event time, kept history and session closes.

History keeps full detail for the current session, 1-minute bars for `minute_sessions` before it
and daily bars for the baseline's sessions before that; older data is dropped. Session closes
(the last observation in [open, close] of each session) feed the baseline.

The rows of all instruments are kept together, tagged with the instrument's code (its position
in the registry): a batch joins as one chunk whatever the number of instruments it touches, and
per-instrument state (watermark, last arrival, rows kept) is an array indexed by code, so a
batch costs a few array operations, not a step per instrument. Each chunk is sorted by code;
chunks are merged as they pile up (each row is copied a logarithmic number of times), and an
instrument's history is its slice of each chunk, found by binary search, so reading one costs
what its own rows do, whatever the other instruments hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from services.engine.baselines import Baselines
from services.engine.calendar import SessionCalendar
from services.engine.config import EngineConfig
from services.engine.rows import DAY_US, Rows
from services.engine.session_closes import Closes, SessionCloses

NO_TIME = -(2**62)
_MINUTE_US = 60_000_000
I64 = npt.NDArray[np.int64]


class PriceStore:
    """Prices of the instruments with `calendars` (by code)."""

    def __init__(self, calendars: Sequence[SessionCalendar], config: EngineConfig) -> None:
        n = len(calendars)
        self.calendars = list(calendars)
        self.config = config
        self.watermark_us = np.full(n, NO_TIME, dtype=np.int64)
        """Largest observation time accepted so far (event time)."""
        self.last_arrival_s = np.full(n, np.nan)
        """Processing time of the last batch with a price event, late or not (NaN: none)."""
        self.late_dropped = np.zeros(n, dtype=np.int64)
        """Observations counted and dropped as older than the allowed lateness."""
        self.closes = SessionCloses(n)
        self.baselines = Baselines(self.closes, config.baseline_sessions)
        self._kept = np.zeros(n, dtype=np.int64)
        """Rows kept per code (duplicates across batches count until the history is read)."""
        self._compact_at = np.zeros(n, dtype=np.int64)
        self._chunks: list[tuple[I64, Rows]] = []
        """Kept rows with their codes, each chunk sorted by code (an instrument's rows in a
        chunk in no particular order: they are sorted when read)."""

    def append(self, codes: I64, rows: Rows) -> None:
        """Keep accepted rows (sorted by code, then time, de-duplicated, not late: see
        batch.py) of instruments `codes`, after their session closes were recorded."""
        if not len(codes):
            return
        last = np.flatnonzero(np.append(codes[1:] != codes[:-1], True))
        present = codes[last]
        self.watermark_us[present] = np.maximum(self.watermark_us[present], rows.obs_us[last])
        self._kept[present] += np.diff(np.append(-1, last))
        self._add_chunk(codes, rows)
        due = present[
            self._kept[present] > np.maximum(self.config.compact_rows, self._compact_at[present])
        ]
        if len(due):
            self.compact(due)

    def load(self, code: int, rows: Rows) -> None:
        """Rows of an instrument that has none (from a snapshot)."""
        self._add_chunk(np.full(len(rows), code, dtype=np.int64), rows)
        self._kept[code] = len(rows)

    def history(self, code: int) -> Rows:
        """All kept observations of instrument `code`, sorted and de-duplicated."""
        parts = []
        for codes, rows in self._chunks:
            start, stop = np.searchsorted(codes, [code, code + 1]).tolist()
            if stop > start:
                parts.append(rows.slice(start, stop))
        if not parts:
            return Rows.empty()
        kept = (parts[0] if len(parts) == 1 else Rows.concat(parts)).sorted_unique()
        self._kept[code] = len(kept)
        return kept

    def histories(self, wanted: npt.NDArray[np.bool_]) -> tuple[Rows, I64]:
        """The kept observations of the instruments `wanted` (a mask by code), sorted by
        (code, time) and de-duplicated, and each one's code."""
        parts, part_codes = [], []
        for codes, rows in self._chunks:
            keep = wanted[codes]
            parts.append(rows.take(keep))
            part_codes.append(codes[keep])
        if not parts:
            return Rows.empty(), np.empty(0, dtype=np.int64)
        # each chunk's rows by code, then all of them (each instrument's usually in time order)
        codes, rows = sorted_unique(*_by_code(np.concatenate(part_codes), Rows.concat(parts)))
        counts = np.bincount(codes, minlength=len(wanted))
        self._kept[wanted] = counts[wanted]
        return rows, codes

    def forget(self, code: int) -> None:
        """Drop every price of instrument `code`."""
        chunks = [(codes, rows, codes != code) for codes, rows in self._chunks]
        self._chunks = [(codes[keep], rows.take(keep)) for codes, rows, keep in chunks]
        self.watermark_us[code] = NO_TIME
        self.last_arrival_s[code] = np.nan
        self.late_dropped[code] = 0
        self._kept[code] = 0
        self._compact_at[code] = 0
        self.closes.clear(code)
        self.baselines.forget(code)

    def compact(self, codes: I64) -> None:
        """Summarise the history of instruments `codes` older than each one's current session
        (1-minute, then daily bars); every chunk is merged into one."""
        compacted = np.zeros(len(self.calendars), dtype=np.bool_)
        compacted[codes] = True
        parts, part_codes = [], []
        for code in codes.tolist():
            summary, oldest = self._summarised(code, self.history(code))
            parts.append(summary)
            part_codes.append(np.full(len(summary), code, dtype=np.int64))
            self._kept[code] = len(summary)
            self._compact_at[code] = 2 * len(summary)
            self.closes.drop_before(code, oldest)
        for chunk_codes, rows in self._chunks:
            keep = ~compacted[chunk_codes]
            parts.append(rows.take(keep))
            part_codes.append(chunk_codes[keep])
        self._chunks = [_by_code(np.concatenate(part_codes), Rows.concat(parts))]

    def _summarised(self, code: int, history: Rows) -> tuple[Rows, int]:
        """The kept rows of `code` once compacted, and its oldest session kept."""
        cal, config = self.calendars[code], self.config
        watermark_us = int(self.watermark_us[code])
        current = cal.session_of_close(watermark_us)
        if current < 0:
            current = cal.anchor(watermark_us, day_precision=False)[1]
        detail_from = cal.session_open_us(current)
        minute_from = cal.session_open_us(max(current - config.minute_sessions, 0))
        keep_sessions = config.baseline_sessions + config.minute_sessions + 10
        daily_from = cal.session_open_us(max(current - keep_sessions, 0))
        df = history.frame()
        obs = pl.col("obs_us")
        recent = df.filter(obs >= detail_from)
        fine = pl.col("interval_us") < _MINUTE_US
        minute = df.filter((obs >= minute_from) & (obs < detail_from))
        minute = pl.concat(
            [
                minute.filter(~fine),
                _bars(
                    minute.filter(fine).with_columns(
                        (-((-obs) // _MINUTE_US) * _MINUTE_US).alias("bucket")
                    ),
                    "bucket",
                    _MINUTE_US,
                ),
            ]
        )
        old = df.filter((obs >= daily_from) & (obs < minute_from))
        sessions = cal.sessions_of(old["obs_us"].to_numpy().astype(np.int64))
        closes = np.asarray(cal.closes_us)[np.maximum(sessions, 0)]
        daily = _bars(
            old.with_columns(
                pl.Series("session_close", np.where(sessions >= 0, closes, -1))
            ).filter(pl.col("session_close") >= 0),
            "session_close",
            DAY_US,
        )
        merged = pl.concat([daily, minute, recent], how="vertical", rechunk=True)
        return Rows.from_frame(merged).sorted_unique(), current - keep_sessions

    def _add_chunk(self, codes: I64, rows: Rows) -> None:
        chunks = self._chunks
        chunks.append((codes, rows))
        # merge the newest chunks while the one before is no larger: few chunks, and each row
        # copied a logarithmic number of times
        while len(chunks) > 1 and len(chunks[-2][0]) <= len(chunks[-1][0]):
            (a_codes, a_rows), (b_codes, b_rows) = chunks[-2], chunks[-1]
            chunks[-2:] = [
                _by_code(np.concatenate([a_codes, b_codes]), Rows.concat([a_rows, b_rows]))
            ]


def _by_code(codes: I64, rows: Rows) -> tuple[I64, Rows]:
    """Rows sorted by code (runs already sorted by code merge in linear time)."""
    if len(codes) < 2 or bool((codes[1:] >= codes[:-1]).all()):
        return codes, rows
    order = np.argsort(codes, kind="stable")
    return codes[order], rows.take(order)


class PriceHistory:
    """One instrument's view of a `PriceStore` (a store of its own when made alone)."""

    __slots__ = ("calendar", "code", "config", "store", "symbol")

    def __init__(
        self,
        symbol: str,
        calendar: SessionCalendar,
        config: EngineConfig,
        store: PriceStore | None = None,
        code: int = 0,
    ) -> None:
        self.symbol = symbol
        self.calendar = calendar
        self.config = config
        self.store = store or PriceStore([calendar], config)
        self.code = code

    @property
    def watermark_us(self) -> int:
        return int(self.store.watermark_us[self.code])

    @watermark_us.setter
    def watermark_us(self, value: int) -> None:
        self.store.watermark_us[self.code] = value

    @property
    def last_arrival_s(self) -> float | None:
        value = float(self.store.last_arrival_s[self.code])
        return None if np.isnan(value) else value

    @last_arrival_s.setter
    def last_arrival_s(self, value: float | None) -> None:
        self.store.last_arrival_s[self.code] = np.nan if value is None else value

    @property
    def late_dropped(self) -> int:
        return int(self.store.late_dropped[self.code])

    @late_dropped.setter
    def late_dropped(self, value: int) -> None:
        self.store.late_dropped[self.code] = value

    @property
    def session_closes(self) -> Closes:
        """A copy of the session closes: session index → (observation time, close)."""
        return self.store.closes.of(self.code)

    def append(self, rows: Rows, start: int = 0, stop: int | None = None) -> None:
        """Keep accepted rows `rows[start:stop]` (sorted, de-duplicated, not late)."""
        part = rows.slice(start, len(rows) if stop is None else stop)
        self.store.append(np.full(len(part), self.code, dtype=np.int64), part)

    def record_close(self, session: int, obs_us: int, close: float) -> bool:
        """An observation that is the last of `session` in a batch; whether it is the session's
        last so far (its close changed)."""
        changed = self.store.closes.record(
            np.asarray([self.code]),
            np.asarray([session]),
            np.asarray([obs_us]),
            np.asarray([close]),
        )
        return bool(changed[0])

    def history(self) -> Rows:
        return self.store.history(self.code)

    def compact(self) -> None:
        self.store.compact(np.asarray([self.code], dtype=np.int64))

    def restore(self, watermark_us: int, late_dropped: int, closes: Closes, history: Rows) -> None:
        """The state of an instrument that has none, as a snapshot kept it."""
        self.watermark_us = watermark_us
        self.late_dropped = late_dropped
        self.store.closes.load(self.code, closes)
        if len(history):
            self.store.load(self.code, history)


def sorted_unique(codes: I64, rows: Rows) -> tuple[I64, Rows]:
    """Sorted by (code, obs time, close, open, high, low); exact duplicates removed."""
    if len(codes) < 2:
        return codes, rows
    increasing = (codes[1:] > codes[:-1]) | (
        (codes[1:] == codes[:-1]) & (rows.obs_us[1:] > rows.obs_us[:-1])
    )
    if increasing.all():
        return codes, rows  # in time order with distinct times: the usual live batch
    order = np.lexsort((rows.low, rows.high, rows.open, rows.close, rows.obs_us, codes))
    codes, s = codes[order], rows.take(order)
    same = (codes[1:] == codes[:-1]) & s.repeats_previous()
    if not same.any():
        return codes, s
    first = np.concatenate(([True], ~same))
    return codes[first], s.take(first)


def _bars(frame: pl.DataFrame, bucket: str, interval_us: int) -> pl.DataFrame:
    """One bar per `bucket` (the time it is observed at), in order."""
    return (
        frame.group_by(bucket, maintain_order=True)
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
        )
        .select(
            pl.col(bucket).alias("obs_us"),
            "open",
            "high",
            "low",
            "close",
            pl.lit(interval_us, dtype=pl.Int64).alias("interval_us"),
        )
    )
