"""The prices of every instrument in one store: event time, kept history and session closes.

History keeps full detail for the current session, 1-minute bars for `minute_sessions` before it
and daily bars for the baseline's sessions before that; older data is dropped. Session closes
(the last observation in [open, close] of each session) feed the baseline.

The rows of all instruments are kept together, tagged with the instrument's code (its position
in the registry): a batch joins as one chunk whatever the number of instruments it touches, and
per-instrument state (watermark, last arrival, rows kept) is an array indexed by code, so a
batch costs a few array operations, not a step per instrument. Each chunk is sorted by code;
chunks are merged as they pile up (each row is copied a logarithmic number of times, put at its
place by counting rows per code, without sorting). Reading the history consolidates every
chunk into one sorted by (code, time), where each instrument's rows are found by offsets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from services.engine import compiled
from services.engine.baselines import Baselines
from services.engine.calendar import SessionCalendar
from services.engine.config import EngineConfig
from services.engine.rows import DAY_US, Rows
from services.engine.session_closes import Closes, SessionCloses

NO_TIME: int = compiled.NO_TIME
"""A time for none (a watermark before any data, a window's base not seen yet): the compiled
passes' own value, so the two sides cannot differ."""
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
        self.latest_us = np.full(n, NO_TIME, dtype=np.int64)
        self.latest_close = np.full(n, np.nan)
        """The latest row appended since the instrument's state began (engine start, `forget`):
        its time and close (the highest close among rows at that time). The base of every
        window still waiting for its anchor (see `pending_bases`). Changed in place only."""
        self.closes = SessionCloses(n)
        self.baselines = Baselines(self.closes, config.baseline_sessions)
        self._kept = np.zeros(n, dtype=np.int64)
        """Rows kept per code (duplicates across batches count until the history is read)."""
        self._compact_at = np.zeros(n, dtype=np.int64)
        self._chunks: list[tuple[I64, Rows]] = []
        """Kept rows with their codes, each chunk sorted by code (an instrument's rows in a
        chunk in arrival order: they are sorted by time when read)."""
        self._levels: list[int] = []
        """Each chunk's level: a batch is 0, `_MERGED` chunks of one level merge into one of
        the next; `_SETTLED` (consolidated, compacted or loaded) merges only when read."""
        self._offsets: I64 | None = None
        """Once the chunks are consolidated: each code's first row (and the end)."""

    def append(self, codes: I64, rows: Rows) -> None:
        """Keep accepted rows (sorted by code, then time, de-duplicated, not late: see
        batch.py) of instruments `codes`, after their session closes were recorded."""
        if not len(codes):
            return
        last = np.flatnonzero(np.append(codes[1:] != codes[:-1], True))
        present = codes[last]
        self.watermark_us[present] = np.maximum(self.watermark_us[present], rows.obs_us[last])
        # each code's last row is its latest (time, close): the rows are sorted
        later_of(self.latest_us, self.latest_close, present, rows.obs_us[last], rows.close[last])
        self._kept[present] += np.diff(np.append(-1, last))
        self._add_chunk(codes, rows)
        due = present[
            self._kept[present] > np.maximum(self.config.compact_rows, self._compact_at[present])
        ]
        if len(due):
            self.compact(due)

    def load(self, code: int, rows: Rows) -> None:
        """Rows of an instrument that has none (from a snapshot)."""
        self._add_chunk(np.full(len(rows), code, dtype=np.int64), rows, _SETTLED)
        self._kept[code] = len(rows)

    def history(self, code: int) -> Rows:
        """All kept observations of instrument `code`, sorted and de-duplicated."""
        _, rows, offsets = self._consolidated()
        return rows.slice(int(offsets[code]), int(offsets[code + 1]))

    def histories(self, wanted: npt.NDArray[np.bool_]) -> tuple[Rows, I64]:
        """The kept observations of the instruments `wanted` (a mask by code), sorted by
        (code, time) and de-duplicated, and each one's code."""
        codes, rows, _ = self._consolidated()
        keep = wanted[codes]
        if keep.all():
            return rows, codes
        return rows.take(keep), codes[keep]

    def forget(self, code: int) -> None:
        """Drop every price of instrument `code`."""
        chunks = [(codes, rows, codes != code) for codes, rows in self._chunks]
        self._chunks = [(codes[keep], rows.take(keep)) for codes, rows, keep in chunks]
        self._offsets = None
        self.watermark_us[code] = NO_TIME
        self.latest_us[code] = NO_TIME
        self.latest_close[code] = np.nan
        self.last_arrival_s[code] = np.nan
        self.late_dropped[code] = 0
        self._kept[code] = 0
        self._compact_at[code] = 0
        self.closes.clear(code)
        self.baselines.forget(code)

    def detached(self, codes: I64) -> PriceStore:
        """A copy with the rows and closes of instruments `codes`, to read and compact while
        this store goes on (a checkpoint's, off the engine's lock). Cheap: rows once added are
        never written in place (merges make new arrays), so the copy shares them; what is
        written in place (per-code arrays, closes) is copied."""
        clone = PriceStore(self.calendars, self.config)
        clone.watermark_us[codes] = self.watermark_us[codes]
        clone.late_dropped[codes] = self.late_dropped[codes]
        clone._kept, clone._compact_at = self._kept.copy(), self._compact_at.copy()
        clone._chunks, clone._levels = list(self._chunks), list(self._levels)
        clone._offsets = self._offsets
        for code in codes.tolist():
            clone.closes.load(code, self.closes.of(code))
        return clone

    def compact(self, codes: I64) -> None:
        """Summarise the history of instruments `codes` older than each one's current session
        (1-minute, then daily bars)."""
        codes = np.unique(codes)
        if not len(codes):
            return
        summaries = []
        for code in codes.tolist():
            summary, oldest = self._summarised(code, self.history(code))
            summaries.append((np.full(len(summary), code, dtype=np.int64), summary))
            self._kept[code] = len(summary)
            self._compact_at[code] = 2 * len(summary)
            self.closes.drop_before(code, oldest)
        compacted = np.zeros(len(self.calendars), dtype=np.bool_)
        compacted[codes] = True
        all_codes, rows, _ = self._consolidated()
        keep = ~compacted[all_codes]
        summary_codes = np.concatenate([c for c, _ in summaries])
        summary_rows = Rows.concat([r for _, r in summaries])
        merged = _merged(
            [(all_codes[keep], rows.take(keep)), (summary_codes, summary_rows)],
            len(self.calendars),
        )
        self._chunks, self._levels = [merged], [_SETTLED]
        self._offsets = None

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

    def _add_chunk(self, codes: I64, rows: Rows, level: int = 0) -> None:
        chunks, levels = self._chunks, self._levels
        chunks.append((codes, rows))
        levels.append(level)
        self._offsets = None
        # a few chunks per level, each row copied once per level: merges cost a logarithmic
        # number of copies per row, and come once every few batches
        while (
            len(levels) >= _MERGED
            and levels[-1] < _SETTLED
            and levels[-_MERGED:].count(levels[-1]) == _MERGED
        ):
            chunks[-_MERGED:] = [_merged(chunks[-_MERGED:], len(self.calendars))]
            levels[-_MERGED:] = [levels[-1] + 1]

    def _consolidated(self) -> tuple[I64, Rows, I64]:
        """Every kept row in one chunk sorted by (code, time) without duplicates, and each
        code's first row in it (and the end)."""
        if self._offsets is None:
            if self._chunks:
                codes, rows = sorted_unique(*_merged(self._chunks, len(self.calendars)))
            else:
                codes, rows = np.empty(0, dtype=np.int64), Rows.empty()
            self._chunks, self._levels = [(codes, rows)], [_SETTLED]
            self._kept = np.bincount(codes, minlength=len(self.calendars))
            self._offsets = np.searchsorted(codes, np.arange(len(self.calendars) + 1))
        codes, rows = self._chunks[0]
        return codes, rows, self._offsets


_FIELDS = ("obs_us", "open", "high", "low", "close", "interval_us")
_MERGED = 32
"""Chunks of one level merged into one of the next: each row is copied once per level, and a
read (which copies every row anyway) finds at most this many chunks per level."""
_SETTLED = 1 << 20


def _merged(chunks: list[tuple[I64, Rows]], n_codes: int) -> tuple[I64, Rows]:
    """Chunks sorted by code as one sorted by code, each code's rows in chunk order: every
    row is put at its place directly (counting, not sorting)."""
    if len(chunks) == 1:
        return chunks[0]
    counts = [np.bincount(codes, minlength=n_codes) for codes, _ in chunks]
    totals = np.sum(counts, axis=0)
    start = np.concatenate(([0], np.cumsum(totals)[:-1]))  # where each code's rows go
    size = int(totals.sum())
    out_codes = np.empty(size, dtype=np.int64)
    out = {name: np.empty(size, dtype=getattr(chunks[0][1], name).dtype) for name in _FIELDS}
    for (codes, rows), count in zip(chunks, counts, strict=True):
        first = np.concatenate(([0], np.cumsum(count)[:-1]))  # each code's first row here
        to = start[codes] + (np.arange(len(codes)) - first[codes])
        out_codes[to] = codes
        for name in _FIELDS:
            out[name][to] = getattr(rows, name)
        start = start + count
    return out_codes, Rows(*(out[name] for name in _FIELDS))


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

    def history(self) -> Rows:
        return self.store.history(self.code)

    def restore(self, watermark_us: int, late_dropped: int, closes: Closes, history: Rows) -> None:
        """The state of an instrument that has none, as a snapshot kept it."""
        self.watermark_us = watermark_us
        self.late_dropped = late_dropped
        self.store.closes.load(self.code, closes)
        if len(history):
            self.store.load(self.code, history)


def later_of(
    times_us: I64,
    prices: npt.NDArray[np.float64],
    at: I64,
    new_us: I64,
    new_price: npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_]:
    """Where (`new_us`, `new_price`) is later than (`times_us`, `prices`) at `at` (ties: the
    higher price; `at` distinct), it replaces them; whether each did."""
    cur_us, cur_price = times_us[at], prices[at]
    later: npt.NDArray[np.bool_] = (new_us > cur_us) | (
        (new_us == cur_us) & (new_price > cur_price)
    )
    changed = at[later]
    times_us[changed] = new_us[later]
    prices[changed] = new_price[later]
    return later


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
