"""Builders shared by the engine tests: Seoul and UTC times, instrument registries, an engine on
a manual clock. The events themselves come from `tests.factories`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.engine import (
    EngineConfig,
    Instrument,
    InstrumentRegistry,
    ManualClock,
    ReactionEngine,
    get_calendar,
)
from services.events import Signal
from services.frames import from_us
from tests.factories import SEOUL

NEW_YORK = ZoneInfo("America/New_York")
XKRX = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))


def kst(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    """A Seoul wall-clock time as an aware datetime."""
    return datetime(y, mo, d, h, mi, s, tzinfo=SEOUL)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


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
    registry: InstrumentRegistry | None = None, **config: Any
) -> tuple[ReactionEngine, ManualClock]:
    clock = ManualClock(utc(2026, 1, 1))
    engine = ReactionEngine(registry or kospi_only(), EngineConfig(**config), clock)
    return engine, clock


def latest(signals: Iterable[Signal]) -> dict[tuple[str, str, str], Signal]:
    """The last revision of each (announcement, instrument, horizon)."""
    out: dict[tuple[str, str, str], Signal] = {}
    for s in signals:
        key = (s.announcement_id, s.instrument, s.horizon)
        if key not in out or s.revision > out[key].revision:
            out[key] = s
    return out


def sessions_before(day: date, n: int) -> list[datetime]:
    """The n XKRX session dates before `day` (Seoul midnights)."""
    s = XKRX.session_by_date(day)
    return [
        datetime.combine(
            from_us(XKRX.session_open_us(i)).astimezone(SEOUL).date(), datetime.min.time(), SEOUL
        )
        for i in range(s - n, s)
    ]
