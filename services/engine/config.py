"""Engine settings and the horizon grammar ("5m", "2h", "close", "close+1")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from services.engine.exceptions import ConfigError

DEFAULT_HORIZONS = ("5m", "30m", "2h", "close", "close+1", "close+5")
_DURATION = re.compile(r"^(\d+)(s|m|h)$")
_CLOSE = re.compile(r"^close(?:\+(\d+))?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True, slots=True)
class Horizon:
    """A window length: trading time (`duration_s`) or the close of a later session."""

    name: str
    duration_s: int | None
    """Trading seconds after the anchor, for intraday horizons."""
    sessions_after: int | None
    """0 for `close` (the anchor's session), N for `close+N`."""

    @classmethod
    def parse(cls, name: str) -> Horizon:
        if m := _DURATION.match(name):
            seconds = int(m.group(1)) * _UNIT_S[m.group(2)]
            if seconds <= 0:
                raise ConfigError(f"horizon {name!r} must be positive")
            return cls(name, seconds, None)
        if m := _CLOSE.match(name):
            return cls(name, None, int(m.group(1) or 0))
        raise ConfigError(f"horizon {name!r}: expected e.g. 5m, 2h, close, close+1")


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Tunable semantics of DESIGN §4; the defaults are what a desk expects."""

    horizons: tuple[str, ...] = DEFAULT_HORIZONS
    significance_z: float = 1.96
    """|z| at or above which a reaction is significant."""
    flat_threshold_pct: float = 0.05
    """|return_pct| below which the direction is "flat"."""
    baseline_sessions: int = 60
    revision_interval_s: float = 60.0
    """Least event time between two provisional revisions of one reaction; a material change
    inside it is held and sent at the first evaluation after it, if still material."""
    min_extreme_step_pct: float = 0.02
    """Percentage points by which max_rise_pct or max_fall_pct must go beyond the last sent
    value to count as a new extreme (a material change)."""
    min_return_step_pct: float = 0.05
    """Percentage points by which return_pct must move from the last sent value to count as
    a material change."""
    allowed_lateness_s: float = 600.0
    """Ticks older than the instrument's watermark minus this are counted and dropped."""
    grace_s: float = 30.0
    """Processing time without events after which a closed market's windows finalise."""
    close_tolerance_s: float = 60.0
    """A last event this near (trading time) to the session close counts as its end."""
    calendar_start: date = date(2010, 1, 1)
    calendar_end: date = date(2030, 12, 31)
    minute_sessions: int = 8
    """Sessions before the current one kept as 1-minute bars; older history keeps daily bars."""
    compact_rows: int = 200_000
    """Rows of raw history per instrument that trigger summarising older data."""
    parsed_horizons: tuple[Horizon, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.horizons:
            raise ConfigError("at least one horizon is needed")
        if self.baseline_sessions < 2:
            raise ConfigError("baseline_sessions must be at least 2 (sample standard deviation)")
        if min(self.revision_interval_s, self.min_extreme_step_pct, self.min_return_step_pct) < 0:
            raise ConfigError("revision interval and steps must not be negative")
        object.__setattr__(self, "parsed_horizons", tuple(Horizon.parse(h) for h in self.horizons))
