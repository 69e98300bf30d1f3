"""Inputs of the engine benchmarks: XKRX ticks and announcements spread over a session."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from services.engine import SessionCalendar, get_calendar
from services.events import Announcement
from services.frames import PRICE_SCHEMA, from_us

SESSION = date(2025, 7, 7)
"""The session the announcements fall in (the one before it gives every window its base)."""


def calendar() -> SessionCalendar:
    return get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))


def tick_frame(
    times_us: np.ndarray, symbols: list[str], step_pct: float, seed: int = 7
) -> pl.DataFrame:
    """A PRICE_SCHEMA frame of ticks at `times_us` for every symbol (random walks from 100 ×
    the symbol's rank), in time order."""
    rng = np.random.default_rng(seed)
    frames = [
        pl.DataFrame(
            {
                "instrument": symbol,
                "ts": times_us,
                "price": 100.0
                * (i + 1)
                * np.exp(np.cumsum(rng.normal(0, step_pct, len(times_us)))),
            }
        )
        for i, symbol in enumerate(symbols)
    ]
    df = pl.concat(frames).sort("ts", maintain_order=True)
    return df.select(
        pl.col("instrument"),
        pl.col("ts").cast(pl.Datetime("us", "UTC")),
        pl.col("price"),
        *[
            pl.lit(None, dtype=PRICE_SCHEMA[c]).alias(c)
            for c in ("open", "high", "low", "close", "interval", "volume")
        ],
    )


def announcements(n: int, prefix: str, sectors: list[str] | None = None) -> list[Announcement]:
    """`n` announcements targeting KR, published evenly over SESSION."""
    cal = calendar()
    s = cal.session_by_date(SESSION)
    opened, closed = cal.session_open_us(s), cal.session_close_us(s)
    return [
        Announcement(
            id=f"{prefix}-{i}",
            published_at=from_us(opened + (closed - opened) * i // n),
            targets=["KR"],
            sectors=sectors or ["all"],
            headline=f"{prefix} {i}",
        )
        for i in range(n)
    ]
