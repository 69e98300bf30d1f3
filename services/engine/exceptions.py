"""Errors raised by the reaction engine, one base class for callers to catch."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises."""


class RegistryError(EngineError):
    """The instrument registry file is missing, unreadable or inconsistent."""


class CalendarError(EngineError):
    """An unknown calendar code, or a time outside the calendar's bounded range."""


class ConfigError(EngineError):
    """An invalid engine setting (e.g. a horizon that cannot be parsed)."""


class PriceFrameError(EngineError):
    """A price batch that does not follow PRICE_SCHEMA."""


class SnapshotError(EngineError):
    """Bytes that are not an engine snapshot this release can load (a checkpoint to re-read)."""
