"""The bounds of `services.limits` are the ones the JSON Schemas and the store columns state."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import String

from services import limits
from services.store import schema as store_schema
from tests.schemas import load_schema

ANNOUNCEMENT = load_schema("announcement")
PRICE = load_schema("price")

TEXT_FIELDS = [
    (ANNOUNCEMENT["properties"]["id"], limits.ID_MAX_CHARS),
    (ANNOUNCEMENT["properties"]["source"], limits.SOURCE_MAX_CHARS),
    (ANNOUNCEMENT["properties"]["sectors"]["items"], limits.SECTOR_MAX_CHARS),
    (ANNOUNCEMENT["properties"]["headline"], limits.HEADLINE_MAX_CHARS),
    (ANNOUNCEMENT["properties"]["url"], limits.URL_MAX_CHARS),
    (PRICE["properties"]["instrument"], limits.INSTRUMENT_MAX_CHARS),
]


@pytest.mark.parametrize(("spec", "max_chars"), TEXT_FIELDS)
def test_schema_strings_carry_the_limits(spec: dict[str, Any], max_chars: int) -> None:
    assert spec["maxLength"] == max_chars
    assert spec["minLength"] == 1
    assert spec["pattern"] == limits.NO_NUL_PATTERN


def test_schema_lists_carry_the_limits() -> None:
    assert ANNOUNCEMENT["properties"]["targets"]["maxItems"] == limits.TARGETS_MAX_ITEMS
    assert ANNOUNCEMENT["properties"]["sectors"]["maxItems"] == limits.SECTORS_MAX_ITEMS


@pytest.mark.parametrize("field", ["price", "open", "high", "low", "close"])
def test_schema_prices_carry_the_limits(field: str) -> None:
    spec = PRICE["properties"][field]
    assert (spec["minimum"], spec["maximum"]) == (limits.PRICE_MIN, limits.PRICE_MAX)
    assert "exclusiveMinimum" not in spec


def test_schema_volume_and_rates_carry_the_limits() -> None:
    assert PRICE["properties"]["volume"]["maximum"] == limits.VOLUME_MAX
    for field in ("tariff_rate_pct", "previous_rate_pct"):
        spec = ANNOUNCEMENT["properties"][field]
        assert (spec["minimum"], spec["maximum"]) == (limits.RATE_PCT_MIN, limits.RATE_PCT_MAX)


@pytest.mark.parametrize("event", ["announcement", "price", "signal"])
def test_schema_times_carry_the_year_range(event: str) -> None:
    pattern = load_schema(event)["$defs"]["utcTime"]["pattern"]
    assert pattern.startswith(f"^{limits.SCHEMA_YEAR_PATTERN}-")


def test_the_year_pattern_is_the_year_range() -> None:
    year = re.compile(limits.SCHEMA_YEAR_PATTERN)
    accepted = [y for y in range(0, 10_000) if year.fullmatch(f"{y:04d}")]
    assert (accepted[0], accepted[-1], len(accepted)) == (
        limits.YEAR_MIN,
        limits.YEAR_MAX,
        limits.YEAR_MAX - limits.YEAR_MIN + 1,
    )


@pytest.mark.parametrize(
    ("column", "max_chars"),
    [
        (store_schema.announcements.c.id, limits.ID_MAX_CHARS),
        (store_schema.announcement_sectors.c.sector, limits.SECTOR_MAX_CHARS),
        (store_schema.announcement_sectors.c.announcement_id, limits.ID_MAX_CHARS),
        (store_schema.announcement_targets.c.announcement_id, limits.ID_MAX_CHARS),
        (store_schema.bars_1m.c.instrument, limits.INSTRUMENT_MAX_CHARS),
        (store_schema.bars_1d.c.instrument, limits.INSTRUMENT_MAX_CHARS),
        (store_schema.reaction_revisions.c.instrument, limits.INSTRUMENT_MAX_CHARS),
        (store_schema.reactions_latest.c.announcement_id, limits.ID_MAX_CHARS),
    ],
)
def test_store_columns_hold_the_longest_valid_string(column: Any, max_chars: int) -> None:
    assert isinstance(column.type, String)
    assert column.type.length == max_chars
