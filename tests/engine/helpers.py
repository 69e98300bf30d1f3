"""Builders shared by the engine tests: explicit timestamps in, frames and models out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl

from services.engine import (
    EngineConfig,
    Instrument,
    InstrumentRegistry,
    ManualClock,
    ReactionEngine,
)
from services.events import Announcement, Price, Signal
from services.frames import prices_frame

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")


def kst(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    """A Seoul wall-clock time as an aware datetime."""
    return datetime(y, mo, d, h, mi, s, tzinfo=SEOUL)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def announcement(
    ann_id: str,
    published_at: datetime,
    *,
    precision: str = "minute",
    sectors: Sequence[str] = ("all",),
    targets: Sequence[str] = ("KR",),
) -> Announcement:
    return Announcement.model_validate(
        {
            "id": ann_id,
            "published_at": published_at.isoformat(),
            "published_at_precision": precision,
            "targets": list(targets),
            "sectors": list(sectors),
            "action": "impose",
            "headline": f"announcement {ann_id}",
        }
    )


def ticks(instrument: str, rows: Iterable[tuple[datetime, float]]) -> pl.DataFrame:
    return prices_frame(Price(instrument=instrument, ts=t, price=p) for t, p in rows)


def daily_bars(instrument: str, rows: Iterable[tuple[datetime, float]]) -> pl.DataFrame:
    """Daily bars labelled by Seoul date at 00:00 exchange time; open=high=low=close."""
    return prices_frame(
        Price(
            instrument=instrument,
            ts=datetime(t.year, t.month, t.day, tzinfo=SEOUL),
            open=p,
            high=p,
            low=p,
            close=p,
            interval="1d",
        )
        for t, p in rows
    )


def korea_registry() -> InstrumentRegistry:
    return InstrumentRegistry(
        [
            Instrument("KOSPI", "KR", "XKRX"),
            Instrument("USDKRW", "KR", "always-open"),
            Instrument("005380.KS", "KR", "XKRX", ("autos",), benchmark="KOSPI"),
        ]
    )


def kospi_only() -> InstrumentRegistry:
    return InstrumentRegistry([Instrument("KOSPI", "KR", "XKRX")])


def make_engine(
    registry: InstrumentRegistry | None = None, **config: object
) -> tuple[ReactionEngine, ManualClock]:
    clock = ManualClock(utc(2026, 1, 1))
    engine = ReactionEngine(registry or kospi_only(), EngineConfig(**config), clock)  # type: ignore[arg-type]
    return engine, clock


def latest(signals: Iterable[Signal]) -> dict[tuple[str, str, str], Signal]:
    """The last revision of each (announcement, instrument, horizon)."""
    out: dict[tuple[str, str, str], Signal] = {}
    for s in signals:
        key = (s.announcement_id, s.instrument, s.horizon)
        if key not in out or s.revision > out[key].revision:
            out[key] = s
    return out
