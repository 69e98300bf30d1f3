"""Counters the engine keeps for metrics (Prometheus wiring reads `ReactionEngine.stats`)."""

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
    """Observations older than the watermark minus the allowed lateness."""
    duplicate_prices: int = 0
    windows_opened: int = 0
    windows_retired: int = 0
    open_windows: int = 0
    signals: int = 0
    corrections: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
