"""Price events normalised to sorted observation arrays, one set per instrument.

An observation is what DESIGN §3 says is known at a time: a tick's price at its `ts`; a bar's
open/high/low/close at its end (`ts + interval`; a daily bar at its session's close).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from services.engine.calendar import SessionCalendar
from services.engine.exceptions import PriceFrameError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
INTERVAL_US = {"1m": 60_000_000, "5m": 300_000_000, "1h": 3_600_000_000, "1d": 86_400_000_000}
DAY_US = INTERVAL_US["1d"]
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
REQUIRED = ("instrument", "ts", "price", "open", "high", "low", "close", "interval")


@dataclass(frozen=True, slots=True)
class Rows:
    """Observations of one instrument (arrival order, or sorted where a caller says so)."""

    obs_us: I64
    """When the value was observed (tick time, or bar end)."""
    open: F64
    high: F64
    low: F64
    close: F64
    interval_us: I64
    """0 for a tick, the bar length for a bar (a daily bar: one day)."""

    def __len__(self) -> int:
        return len(self.obs_us)

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Rows:
        return Rows(
            self.obs_us[index],
            self.open[index],
            self.high[index],
            self.low[index],
            self.close[index],
            self.interval_us[index],
        )

    def sorted_unique(self) -> Rows:
        """Sorted by (obs time, close, open, high, low); exact duplicates removed."""
        order = np.lexsort((self.low, self.high, self.open, self.close, self.obs_us))
        s = self.take(order)
        if len(s) < 2:
            return s
        same = (
            (s.obs_us[1:] == s.obs_us[:-1])
            & (s.close[1:] == s.close[:-1])
            & (s.open[1:] == s.open[:-1])
            & (s.high[1:] == s.high[:-1])
            & (s.low[1:] == s.low[:-1])
            & (s.interval_us[1:] == s.interval_us[:-1])
        )
        if not same.any():
            return s
        return s.take(np.concatenate(([True], ~same)))

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        return Rows(
            np.concatenate([p.obs_us for p in parts]),
            np.concatenate([p.open for p in parts]),
            np.concatenate([p.high for p in parts]),
            np.concatenate([p.low for p in parts]),
            np.concatenate([p.close for p in parts]),
            np.concatenate([p.interval_us for p in parts]),
        )

    @staticmethod
    def empty() -> Rows:
        f = np.empty(0, dtype=np.float64)
        i = np.empty(0, dtype=np.int64)
        return Rows(i, f, f, f, f, i)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "obs_us": self.obs_us,
                "open": self.open,
                "high": self.high,
                "low": self.low,
                "close": self.close,
                "interval_us": self.interval_us,
            }
        )

    @staticmethod
    def from_frame(df: pl.DataFrame) -> Rows:
        return Rows(
            df["obs_us"].to_numpy().astype(np.int64, copy=False),
            df["open"].to_numpy().astype(np.float64, copy=False),
            df["high"].to_numpy().astype(np.float64, copy=False),
            df["low"].to_numpy().astype(np.float64, copy=False),
            df["close"].to_numpy().astype(np.float64, copy=False),
            df["interval_us"].to_numpy().astype(np.int64, copy=False),
        )


def split_prices(prices: pl.DataFrame) -> tuple[dict[str, pl.DataFrame], int]:
    """One vectorised pass over a PRICE_SCHEMA batch: (per-instrument frames, invalid rows)."""
    missing = [c for c in REQUIRED if c not in prices.columns]
    if missing:
        raise PriceFrameError(f"price frame lacks columns {missing}")
    price = pl.col("price")
    norm = prices.select(
        pl.col("instrument"),
        pl.col("ts").dt.convert_time_zone("UTC").dt.epoch("us").alias("ts_us"),
        pl.col("interval")
        .replace_strict(INTERVAL_US, default=0, return_dtype=pl.Int64)
        .alias("interval_us"),
        pl.coalesce(pl.col("open"), price).alias("open"),
        pl.coalesce(pl.col("high"), price).alias("high"),
        pl.coalesce(pl.col("low"), price).alias("low"),
        pl.coalesce(pl.col("close"), price).alias("close"),
    )
    valid = (
        pl.col("instrument").is_not_null()
        & pl.col("ts_us").is_not_null()
        & pl.col("close").is_not_null()
        & (pl.col("close") > 0)
        & pl.col("open").is_not_null()
        & pl.col("high").is_not_null()
        & pl.col("low").is_not_null()
    )
    good = norm.filter(valid)
    invalid = norm.height - good.height
    parts = good.partition_by("instrument", maintain_order=True, as_dict=True, include_key=False)
    return {str(k[0]): v for k, v in parts.items()}, invalid


def observations(frame: pl.DataFrame, calendar: SessionCalendar) -> tuple[Rows, int]:
    """Arrival-order observations of one instrument, and how many daily bars were off-calendar."""
    ts = frame["ts_us"].to_numpy().astype(np.int64, copy=False)
    iv = frame["interval_us"].to_numpy().astype(np.int64, copy=False)
    obs = ts + iv
    off = 0
    daily = iv == DAY_US
    if daily.any():
        local_days = (
            frame.filter(pl.Series(daily))
            .select(
                pl.from_epoch(pl.col("ts_us"), time_unit="us")
                .dt.replace_time_zone("UTC")
                .dt.convert_time_zone(str(calendar.tz))
                .dt.date()
                .cast(pl.Int64)
            )
            .to_series()
            .to_numpy()
        )
        closes = calendar.closes_by_dates(local_days + _EPOCH_ORDINAL)
        obs[daily] = closes
        off = int((closes < 0).sum())
    rows = Rows(
        obs,
        frame["open"].to_numpy().astype(np.float64, copy=False),
        frame["high"].to_numpy().astype(np.float64, copy=False),
        frame["low"].to_numpy().astype(np.float64, copy=False),
        frame["close"].to_numpy().astype(np.float64, copy=False),
        iv,
    )
    if off:
        rows = rows.take(obs >= 0)
    return rows, off
