"""Counters and status the engine keeps for metrics (the Prometheus wiring reads them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class EngineStats:
    announcements: int = 0
    duplicate_announcements: int = 0
    unrouted_announcements: int = 0
    """Announcements that no instrument of the registry listens to."""
    beyond_calendar: int = 0
    """Windows not opened because the anchor or end lies outside the calendar's range."""
    price_events: int = 0
    invalid_prices: int = 0
    unknown_instrument: int = 0
    off_calendar_bars: int = 0
    """Daily bars dated on a day that is not a session."""
    late_dropped: int = 0
    """Observations older than the watermark minus the allowed lateness (per instrument:
    `InstrumentStatus.late_dropped`)."""
    duplicate_prices: int = 0
    windows_opened: int = 0
    windows_retired: int = 0
    open_windows: int = 0
    signals: int = 0
    corrections: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class InstrumentStatus:
    """One instrument as the engine sees it (`ReactionEngine.instrument_status`)."""

    symbol: str
    watermark_us: int | None
    """Event time: the latest observation accepted, µs since the epoch (UTC); None before any."""
    last_arrival_s: float | None
    """Processing time (the engine clock's monotonic seconds) of the last batch with a price
    event for the instrument, late ones included; None before any."""
    market_open: bool
    """Whether the instrument's calendar has its market open at the watermark (event time,
    never wall time); False before any data."""
    open_windows: int
    """Reaction windows not yet retired (provisional, or final but still correctable)."""
    late_dropped: int
    """Observations of this instrument counted and dropped as older than the allowed lateness."""
