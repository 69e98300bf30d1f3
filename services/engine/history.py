"""Per-instrument state: watermark, bounded price history (polars) and session closes.

History keeps full detail for the current session, 1-minute bars for `minute_sessions` before it
and daily bars for the baseline's sessions before that; older data is dropped. Session closes
(the last observation in [open, close] of each session) feed the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from services.engine.calendar import SessionCalendar
from services.engine.config import EngineConfig
from services.engine.rows import DAY_US, Rows

NO_TIME = -(2**62)
_MINUTE_US = 60_000_000


@dataclass(slots=True)
class PriceHistory:
    """One instrument's prices: event time, kept history and session closes."""

    symbol: str
    calendar: SessionCalendar
    config: EngineConfig
    watermark_us: int = NO_TIME
    """Largest observation time accepted so far (event time)."""
    last_arrival_s: float | None = None
    """Processing time of the last batch with a price event, late or not (grace period)."""
    late_dropped: int = 0
    """Observations counted and dropped as older than the allowed lateness."""
    session_closes: dict[int, tuple[int, float]] = field(default_factory=dict)
    """Session index → (observation time, close) of its last observation."""
    _chunks: list[Rows | tuple[Rows, int, int]] = field(default_factory=list)
    """Kept rows: whole, or (rows, start, stop) for a slice not taken yet."""
    _pinned: int = 0
    """Rows of the batches that slices not taken yet keep alive."""
    _rows: int = 0
    _compact_at: int = 0

    def append(self, rows: Rows, start: int = 0, stop: int | None = None) -> None:
        """Keep accepted rows (sorted, de-duplicated, not late: see batch.py), after their
        session closes were recorded: `rows[start:stop]`, a slice of a batch of many
        instruments taken only when the history is next read."""
        stop = len(rows) if stop is None else stop
        self.watermark_us = max(self.watermark_us, int(rows.obs_us[stop - 1]))
        if start == 0 and stop == len(rows):
            self._chunks.append(rows)
        else:
            self._chunks.append((rows, start, stop))
            self._pinned += len(rows)
        self._rows += stop - start
        if self._rows > max(self.config.compact_rows, self._compact_at):
            self.compact()
        elif self._pinned > self.config.compact_rows:
            self._consolidate()  # a few rows of each of many batches: let the batches go

    def record_close(self, session: int, obs_us: int, close: float) -> bool:
        """An observation that is the last of `session` in a batch; whether it is the session's
        last so far (its close changed)."""
        cur = self.session_closes.get(session)
        if cur is not None and (obs_us, close) <= cur:
            return False
        self.session_closes[session] = (obs_us, close)
        return True

    def history(self) -> Rows:
        """All kept observations, sorted and de-duplicated."""
        if not self._chunks:
            return Rows.empty()
        if len(self._chunks) > 1 or isinstance(self._chunks[0], tuple):
            self._consolidate()
        chunk = self._chunks[0]
        assert isinstance(chunk, Rows)
        return chunk

    def _consolidate(self) -> None:
        whole = [c if isinstance(c, Rows) else c[0].slice(c[1], c[2]) for c in self._chunks]
        rows = Rows.concat(whole).sorted_unique()
        self._chunks = [rows]
        self._pinned = 0
        self._rows = len(rows)

    def compact(self) -> None:
        """Summarise history older than the current session (1-minute, then daily bars)."""
        self._consolidate()
        cal = self.calendar
        current = cal.session_of_close(self.watermark_us)
        if current < 0:
            current = cal.anchor(self.watermark_us, day_precision=False)[1]
        detail_from = cal.session_open_us(current)
        minute_from = cal.session_open_us(max(current - self.config.minute_sessions, 0))
        keep_sessions = self.config.baseline_sessions + self.config.minute_sessions + 10
        daily_from = cal.session_open_us(max(current - keep_sessions, 0))
        df = self.history().frame()
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
        kept = Rows.from_frame(merged).sorted_unique()
        self._chunks = [kept]
        self._rows = len(kept)
        self._compact_at = 2 * self._rows
        oldest = current - keep_sessions
        for sess in [s for s in self.session_closes if s < oldest]:
            del self.session_closes[sess]


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
