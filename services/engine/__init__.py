"""The reaction engine: links announcements to the market moves that follow them (DESIGN §4)."""

from services.engine.calendar import ALWAYS_OPEN, SessionCalendar, get_calendar
from services.engine.clock import ManualClock, SystemClock
from services.engine.config import DEFAULT_HORIZONS, EngineConfig, Horizon
from services.engine.emission import Revisions
from services.engine.engine import ReactionEngine
from services.engine.exceptions import (
    CalendarError,
    ConfigError,
    EngineError,
    PriceFrameError,
    RegistryError,
)
from services.engine.registry import Instrument, InstrumentRegistry, load_registry
from services.engine.stats import EngineStats, InstrumentStatus
from services.engine.types import Clock, TradingCalendar

__all__ = [
    "ALWAYS_OPEN",
    "DEFAULT_HORIZONS",
    "CalendarError",
    "Clock",
    "ConfigError",
    "EngineConfig",
    "EngineError",
    "EngineStats",
    "Horizon",
    "Instrument",
    "InstrumentRegistry",
    "InstrumentStatus",
    "ManualClock",
    "PriceFrameError",
    "ReactionEngine",
    "RegistryError",
    "Revisions",
    "SessionCalendar",
    "SystemClock",
    "TradingCalendar",
    "get_calendar",
    "load_registry",
]
