"""Small, explicit events for store and API tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.events import Announcement, Price, Signal

T0 = datetime(2025, 7, 7, 0, 0, tzinfo=UTC)


def announcement(
    id: str,
    *,
    day: int = 0,
    targets: tuple[str, ...] = ("KR",),
    sectors: tuple[str, ...] = ("all",),
    action: str = "impose",
) -> Announcement:
    return Announcement.model_validate(
        {
            "id": id,
            "published_at": T0 + timedelta(days=day),
            "targets": list(targets),
            "sectors": list(sectors),
            "action": action,
            "tariff_rate_pct": 25.0,
            "effective_at": "2025-08-01",
            "headline": f"headline of {id}",
        }
    )


def signal(
    announcement_id: str,
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
    anchor = T0 + timedelta(days=day, hours=1)
    data: dict[str, Any] = {
        "signal_id": f"{announcement_id}|{instrument}|{horizon}|{revision}",
        "announcement_id": announcement_id,
        "instrument": instrument,
        "horizon": horizon,
        "revision": revision,
        "final": final,
        "anchor_at": anchor,
        "base_price": 100.0,
        "base_at": anchor - timedelta(hours=18),
        "last_price": 100.0 * (1 + return_pct / 100),
        "last_at": anchor + timedelta(minutes=revision),
        "return_pct": return_pct,
        "max_rise_pct": max(return_pct, 0.0),
        "max_fall_pct": min(return_pct, 0.0),
        "peak_at": anchor + timedelta(minutes=revision),
        "time_to_peak_s": 60.0 * revision,
        "z_score": z_score,
        "significant": None if z_score is None else abs(z_score) >= 1.96,
        "direction": "up" if return_pct > 0 else "down" if return_pct < 0 else "flat",
        "confounders": [],
        "data_granularity": "1m",
        "emitted_at": anchor + timedelta(minutes=revision, seconds=1),
    }
    return Signal.model_validate({**data, **fields})


def tick(instrument: str, at: datetime, price: float) -> Price:
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
