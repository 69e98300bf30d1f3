"""Price events normalised to sorted observation arrays, one set per instrument.

An observation is what DESIGN §3 says is known at a time: a tick's price at its `ts`; a bar's
open/high/low/close at its end (`ts + interval`; a daily bar at its session's close).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import polars as pl

from services.engine.calendar import SessionCalendar
from services.engine.codes import by_code
from services.engine.exceptions import PriceFrameError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
INTERVAL_US = {"1m": 60_000_000, "5m": 300_000_000, "1h": 3_600_000_000, "1d": 86_400_000_000}
DAY_US = INTERVAL_US["1d"]
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
REQUIRED = ("instrument", "ts", "price", "open", "high", "low", "close", "interval")
_INTERVALS = pl.Enum(list(INTERVAL_US))
# bar length by position in _INTERVALS, then 0 (a tick) for no or an unknown interval
_INTERVAL_US = np.asarray([*INTERVAL_US.values(), 0], dtype=np.int64)
_TICK_CODE = len(INTERVAL_US)
_OHLC = ("open", "high", "low", "close")


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

    def slice(self, start: int, stop: int) -> Rows:
        return Rows(
            self.obs_us[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.interval_us[start:stop],
        )

    def repeats_previous(self) -> npt.NDArray[np.bool_]:
        """For each row but the first, whether it is exactly the row before it."""
        same: npt.NDArray[np.bool_] = (
            (self.obs_us[1:] == self.obs_us[:-1])
            & (self.close[1:] == self.close[:-1])
            & (self.open[1:] == self.open[:-1])
            & (self.high[1:] == self.high[:-1])
            & (self.low[1:] == self.low[:-1])
            & (self.interval_us[1:] == self.interval_us[:-1])
        )
        return same

    def sorted_unique(self) -> Rows:
        """Sorted by (obs time, close, open, high, low); exact duplicates removed."""
        if len(self) < 2 or bool((self.obs_us[1:] > self.obs_us[:-1]).all()):
            return self  # in time order with distinct times: the usual live batch
        order = np.lexsort((self.low, self.high, self.open, self.close, self.obs_us))
        s = self.take(order)
        if len(s) < 2:
            return s
        same = s.repeats_previous()
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


@dataclass(frozen=True, slots=True)
class PriceColumns:
    """Valid price events of one instrument, in arrival order (a tick as a bar of length 0)."""

    ts_us: I64
    interval_us: I64
    open: F64
    high: F64
    low: F64
    close: F64

    def __len__(self) -> int:
        return len(self.ts_us)

    def take(self, index: npt.NDArray[np.intp]) -> PriceColumns:
        return PriceColumns(
            self.ts_us[index],
            self.interval_us[index],
            self.open[index],
            self.high[index],
            self.low[index],
            self.close[index],
        )


@dataclass(frozen=True, slots=True)
class SplitBatch:
    """A PRICE_SCHEMA batch split by instrument."""

    parts: dict[str, PriceColumns]
    invalid: int
    """Rows missing a required value, or with a price that is not positive."""
    unknown: int
    """Valid rows of instruments that the registry does not list."""


def split_prices(prices: pl.DataFrame, symbols: Sequence[str]) -> SplitBatch:
    """A PRICE_SCHEMA batch split by the instruments in `symbols`."""
    known = known_prices(prices, symbols)
    present, starts = np.unique(known.codes, return_index=True)
    bounds = [*starts.tolist(), len(known.codes)]
    parts = {
        symbols[k]: known.columns.take(np.arange(bounds[j], bounds[j + 1]))
        for j, k in enumerate(present.tolist())
    }
    return SplitBatch(parts, known.invalid, known.unknown)


@dataclass(frozen=True, slots=True)
class KnownPrices:
    """A batch's valid rows of listed instruments, grouped by instrument (arrival order kept
    within each), with what was left out."""

    columns: PriceColumns
    codes: npt.NDArray[np.intp]
    """Each row's instrument: its position in the `symbols` given."""
    invalid: int
    unknown: int


def known_prices(prices: pl.DataFrame, symbols: Sequence[str]) -> KnownPrices:
    """The valid rows of a PRICE_SCHEMA batch whose instrument is in `symbols`.

    Series and numpy operations, skipped where a column has no nulls or only nulls: on a batch
    of a few thousand rows a lazy query's fixed cost exceeds the work.
    """
    missing = [c for c in REQUIRED if c not in prices.columns]
    if missing:
        raise PriceFrameError(f"price frame lacks columns {missing}")
    code = _enum_codes(prices["instrument"], _enum(tuple(symbols)), len(symbols))
    ts = _epoch_us(prices["ts"])
    price = prices["price"].to_numpy()
    o, h, lo, c = (_coalesce(prices[name], price) for name in _OHLC)
    ok = (c > 0) & ~(np.isnan(o) | np.isnan(h) | np.isnan(lo))
    if prices["instrument"].null_count():
        ok &= prices["instrument"].is_not_null().to_numpy()
    if ts.null_count():
        ok &= ts.is_not_null().to_numpy()
        ts = ts.fill_null(0)
    keep = np.flatnonzero(ok & (code != len(symbols)))
    # a stable sort keeps each instrument's arrival order
    keep = keep[by_code(code[keep])]
    interval = _enum_codes(prices["interval"], _INTERVALS, _TICK_CODE)
    columns = PriceColumns(ts.to_numpy(), _INTERVAL_US[interval], o, h, lo, c).take(keep)
    n_valid = int(ok.sum())
    return KnownPrices(columns, code[keep], prices.height - n_valid, n_valid - len(keep))


@lru_cache(maxsize=8)
def _enum(symbols: tuple[str, ...]) -> pl.Enum:
    return pl.Enum(symbols)


def _enum_codes(values: pl.Series, categories: pl.Enum, missing: int) -> npt.NDArray[np.intp]:
    """Each value's position among the categories; `missing` for a null or unknown value."""
    if values.null_count() == len(values):
        return np.full(len(values), missing, dtype=np.intp)
    codes = values.cast(categories, strict=False).to_physical()
    if codes.null_count():
        codes = codes.fill_null(missing)
    return codes.to_numpy().astype(np.intp)


def _epoch_us(ts: pl.Series) -> pl.Series:
    """µs since the epoch (an instant, whatever the zone): a datetime in µs is that number
    already (a cast, not an expression's fixed cost)."""
    if isinstance(ts.dtype, pl.Datetime) and ts.dtype.time_unit == "us":
        return ts.cast(pl.Int64)
    return ts.dt.epoch("us")


def _coalesce(values: pl.Series, fallback: F64) -> F64:
    """`values`, or `fallback` where one is missing (null arrives from polars as NaN)."""
    if values.null_count() == len(values):
        return fallback  # the usual tick: no bar fields
    value = values.to_numpy()
    out: F64 = np.where(np.isnan(value), fallback, value)
    return out


def observations(prices: PriceColumns, calendar: SessionCalendar) -> tuple[Rows, int]:
    """Arrival-order observations of one instrument, and how many daily bars were off-calendar."""
    iv = prices.interval_us
    obs = prices.ts_us + iv
    off = 0
    daily = iv == DAY_US
    if daily.any():
        local_days = (
            pl.Series(prices.ts_us[daily])
            .cast(pl.Datetime("us", "UTC"))
            .dt.convert_time_zone(str(calendar.tz))
            .dt.date()
            .cast(pl.Int64)
            .to_numpy()
        )
        closes = calendar.closes_by_dates(local_days + _EPOCH_ORDINAL)
        obs[daily] = closes
        off = int((closes < 0).sum())
    rows = Rows(obs, prices.open, prices.high, prices.low, prices.close, iv)
    if off:
        rows = rows.take(obs >= 0)
    return rows, off
