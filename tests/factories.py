"""Small, explicit events for tests and benchmarks: announcements, prices and reaction revisions
(signals) with plain defaults, any field overridable by keyword."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from services.events import Announcement, Price, ReactionId, Signal
from services.frames import prices_frame

T0 = datetime(2025, 7, 7, 0, 0, tzinfo=UTC)
"""Day 0: announcements are published at `T0 + day`, their reactions anchored an hour later."""
SEOUL = ZoneInfo("Asia/Seoul")


def announcement(
    id: str = "a1",
    published_at: datetime | None = None,
    *,
    day: int = 0,
    precision: str = "minute",
    targets: Iterable[str] = ("KR",),
    sectors: Iterable[str] = ("all",),
    action: str = "impose",
    **fields: Any,
) -> Announcement:
    """Published at `published_at`, or at `T0` plus `day` days."""
    data: dict[str, Any] = {
        "id": id,
        "published_at": published_at or T0 + timedelta(days=day),
        "published_at_precision": precision,
        "targets": list(targets),
        "sectors": list(sectors),
        "action": action,
        "tariff_rate_pct": 25.0,
        "effective_at": "2025-08-01",
        "headline": f"headline of {id}",
    }
    return Announcement.model_validate({**data, **fields})


def signal(
    announcement_id: str = "a1",
    instrument: str = "KOSPI",
    horizon: str = "close",
    revision: int = 1,
    *,
    day: int = 0,
    final: bool = False,
    return_pct: float = 1.0,
    z_score: float | None = 1.0,
    **fields: Any,
) -> Signal:
    """Revision `revision` of a reaction anchored at `anchor(day)`, its last price one minute
    per revision later."""
    anchor_at = anchor(day)
    moved_at = anchor_at + timedelta(minutes=revision)
    data: dict[str, Any] = {
        "signal_id": ReactionId(announcement_id, instrument, horizon).signal_id(revision),
        "announcement_id": announcement_id,
        "instrument": instrument,
        "horizon": horizon,
        "revision": revision,
        "final": final,
        "anchor_at": anchor_at,
        "base_price": 100.0,
        "base_at": anchor_at - timedelta(hours=18),
        "last_price": 100.0 * (1 + return_pct / 100),
        "last_at": moved_at,
        "return_pct": return_pct,
        "max_rise_pct": max(return_pct, 0.0),
        "max_fall_pct": min(return_pct, 0.0),
        "peak_at": moved_at,
        "time_to_peak_s": 60.0 * revision,
        "z_score": z_score,
        "significant": None if z_score is None else abs(z_score) >= 1.96,
        "direction": "up" if return_pct > 0 else "down" if return_pct < 0 else "flat",
        "confounders": [],
        "data_granularity": "1m",
        "emitted_at": moved_at + timedelta(seconds=1),
    }
    return Signal.model_validate({**data, **fields})


def anchor(day: int = 0) -> datetime:
    """Where `signal(day=day)` is anchored."""
    return T0 + timedelta(days=day, hours=1)


def tick(instrument: str, at: datetime, price: float = 100.0) -> Price:
    return Price(instrument=instrument, ts=at, price=price)


def bar(
    instrument: str, at: datetime, o: float, h: float, low: float, c: float, interval: str = "1m"
) -> Price:
    return Price.model_validate(
        {
            "instrument": instrument,
            "ts": at,
            "open": o,
            "high": h,
            "low": low,
            "close": c,
            "interval": interval,
        }
    )


def ticks(instrument: str, rows: Iterable[tuple[datetime, float]]) -> pl.DataFrame:
    """The engine's price frame of one tick per (time, price)."""
    return prices_frame(tick(instrument, t, p) for t, p in rows)


def daily_bars(instrument: str, rows: Iterable[tuple[datetime, float]]) -> pl.DataFrame:
    """Daily bars labelled by Seoul date at 00:00 exchange time; open=high=low=close."""
    return prices_frame(
        bar(instrument, datetime(t.year, t.month, t.day, tzinfo=SEOUL), p, p, p, p, "1d")
        for t, p in rows
    )
