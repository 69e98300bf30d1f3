"""Splitting a PRICE_SCHEMA batch by instrument: validity, unknown instruments, arrival order."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from services.engine import PriceFrameError
from services.engine.rows import split_prices
from services.frames import PRICE_SCHEMA, to_us
from tests.engine.helpers import utc

SYMBOLS = ("KOSPI", "USDKRW")
T0 = utc(2025, 7, 8, 1, 0)


def frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{name: row.get(name) for name in PRICE_SCHEMA} for row in rows], schema=PRICE_SCHEMA
    )


def tick(instrument: str | None, ts: datetime | None, price: float) -> dict[str, object]:
    return {"instrument": instrument, "ts": ts, "price": price}


def bar(instrument: str, ts: datetime, interval: str, **ohlc: float) -> dict[str, object]:
    return {"instrument": instrument, "ts": ts, "interval": interval, **ohlc}


ROWS = [
    # (one row, kept for an instrument / "invalid" / "unknown")
    pytest.param(tick("KOSPI", T0, 3000.0), "KOSPI", id="tick"),
    pytest.param(tick(None, T0, 3000.0), "invalid", id="null-instrument"),
    pytest.param(tick("KOSDAQ", T0, 800.0), "unknown", id="unlisted-instrument"),
    pytest.param(tick("KOSPI", None, 3000.0), "invalid", id="null-ts"),
    pytest.param(tick("KOSPI", T0, 0.0), "invalid", id="zero-price"),
    pytest.param(tick("KOSPI", T0, -1.0), "invalid", id="negative-price"),
    pytest.param(
        bar("KOSPI", T0, "1m", open=1.0, high=2.0, close=1.5), "invalid", id="bar-without-low"
    ),
    pytest.param(
        bar("USDKRW", T0, "1h", open=1.0, high=2.0, low=0.5, close=1.5), "USDKRW", id="bar"
    ),
    # an interval outside the contract is read as a tick (its close at `ts`)
    pytest.param(bar("KOSPI", T0, "2m", open=1.0, high=1.0, low=1.0, close=1.0), "KOSPI", id="2m"),
]


@pytest.mark.parametrize(("row", "expected"), ROWS)
def test_row_validity(row: dict[str, object], expected: str) -> None:
    batch = split_prices(frame([row]), SYMBOLS)
    assert (batch.invalid, batch.unknown) == (expected == "invalid", expected == "unknown")
    assert list(batch.parts) == ([] if expected in ("invalid", "unknown") else [expected])


def test_split_keeps_arrival_order_and_reads_bars() -> None:
    t = [utc(2025, 7, 8, 1, m) for m in range(4)]
    batch = split_prices(
        frame(
            [
                tick("USDKRW", t[3], 1370.0),
                tick("KOSPI", t[2], 3001.0),
                tick("KOSDAQ", t[0], 800.0),
                bar("KOSPI", t[0], "5m", open=2990.0, high=3010.0, low=2980.0, close=3000.0),
                tick("USDKRW", t[1], 1369.0),
            ]
        ),
        SYMBOLS,
    )
    assert (batch.invalid, batch.unknown) == (0, 1)
    kospi, usdkrw = batch.parts["KOSPI"], batch.parts["USDKRW"]
    assert kospi.ts_us.tolist() == [to_us(t[2]), to_us(t[0])]  # arrival order, not time order
    assert kospi.interval_us.tolist() == [0, 300_000_000]
    # a tick is a bar of length 0 with open = high = low = close = price
    np.testing.assert_array_equal(kospi.open, [3001.0, 2990.0])
    np.testing.assert_array_equal(kospi.high, [3001.0, 3010.0])
    np.testing.assert_array_equal(kospi.low, [3001.0, 2980.0])
    np.testing.assert_array_equal(kospi.close, [3001.0, 3000.0])
    assert usdkrw.ts_us.tolist() == [to_us(t[3]), to_us(t[1])]


def test_missing_column_is_an_error() -> None:
    with pytest.raises(PriceFrameError, match="interval"):
        split_prices(frame([tick("KOSPI", T0, 1.0)]).drop("interval"), SYMBOLS)
