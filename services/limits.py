"""Every bound an input event must meet, stated once: the models (`services.events`), the JSON
Schemas (`schemas/`, checked against these numbers by `tests/test_limits.py`) and the store
columns (`services.store.schema`) all read them from here.

A record outside them is dead-lettered with a reason instead of reaching the engine or the
store: a too-long string would break a PostgreSQL column, a NUL byte a PostgreSQL text value,
a year beyond 9999 the conversion to UTC, and a denormal price an infinite return."""

from __future__ import annotations

from typing import Final

ID_MAX_CHARS: Final = 200
"""An announcement id."""
INSTRUMENT_MAX_CHARS: Final = 40
SECTOR_MAX_CHARS: Final = 60
SOURCE_MAX_CHARS: Final = 60
HEADLINE_MAX_CHARS: Final = 1000
URL_MAX_CHARS: Final = 2048
TARGETS_MAX_ITEMS: Final = 50
SECTORS_MAX_ITEMS: Final = 20

NO_NUL_PATTERN: Final = r"^[^\u0000]*$"
"""No NUL character in any string (PostgreSQL text cannot hold one); the same regex in JSON
Schema (ECMA-262) and in the models."""

YEAR_MIN: Final = 1970
YEAR_MAX: Final = 2199
"""Years an event time may be written with (in its own zone). Keeps every time convertible to
UTC and to integer microseconds; JSON Schema states it in the time pattern."""
SCHEMA_YEAR_PATTERN: Final = r"(?:19[7-9]\d|2[01]\d\d)"
"""`YEAR_MIN`..`YEAR_MAX` as the year part of the schemas' time patterns."""

PRICE_MIN: Final = 1e-6
"""The smallest price (a minimum tick): returns against it stay finite."""
PRICE_MAX: Final = 1e12
VOLUME_MAX: Final = 1e18
RATE_PCT_MIN: Final = 0.0
RATE_PCT_MAX: Final = 10_000.0
"""A tariff rate in percent."""
