"""Column layouts of the polars frames that pass between ingest, engine and store, and their
time unit: integer microseconds since the epoch (UTC), the `*_us` columns everywhere."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import polars as pl

from services.events import Price

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(value: datetime) -> int:
    """An aware datetime as exact microseconds since the epoch."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(t_us: int) -> datetime:
    """Microseconds since the epoch as an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=int(t_us))


PRICE_SCHEMA: dict[str, pl.DataType] = {
    "instrument": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "price": pl.Float64(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "interval": pl.String(),
    "volume": pl.Float64(),
}
"""One row per price event: a tick has `price`, a bar has `open`..`close` and `interval`."""


def prices_frame(prices: Iterable[Price]) -> pl.DataFrame:
    """Price events as a frame in `PRICE_SCHEMA` (column-wise, one pass)."""
    columns: dict[str, list[object]] = {name: [] for name in PRICE_SCHEMA}
    for p in prices:
        columns["instrument"].append(p.instrument)
        columns["ts"].append(p.ts)
        columns["price"].append(p.price)
        columns["open"].append(p.open)
        columns["high"].append(p.high)
        columns["low"].append(p.low)
        columns["close"].append(p.close)
        columns["interval"].append(p.interval)
        columns["volume"].append(p.volume)
    return pl.DataFrame(columns, schema=PRICE_SCHEMA)
