"""The event contracts of DESIGN.md §3 as pydantic models (`schemas/` holds them as JSON Schema)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, NamedTuple, Self

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)
from pydantic_core import PydanticCustomError

from services import limits

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)")
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def _rfc3339(value: object) -> object:
    """Only RFC 3339 strings (or datetimes): no epoch numbers, no space or zone-less forms."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise PydanticCustomError("rfc3339", "expected an RFC 3339 time with a zone")


def _iso_date(value: object) -> object:
    is_date = isinstance(value, date) and not isinstance(value, datetime)
    if is_date or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise PydanticCustomError("iso_date", "expected a YYYY-MM-DD date")


def _plausible_year(value: date) -> date:
    """Before the conversion to UTC, which overflows near the ends of the calendar."""
    if not limits.YEAR_MIN <= value.year <= limits.YEAR_MAX:
        raise PydanticCustomError(
            "implausible_year",
            "year {year} is outside {low}..{high}",
            {"year": value.year, "low": limits.YEAR_MIN, "high": limits.YEAR_MAX},
        )
    return value


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_plausible_year),
    AfterValidator(_to_utc),
]
"""An RFC 3339 time with a zone, held as UTC."""
IsoDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_plausible_year)]
PositiveFloat = Annotated[StrictFloat, Field(gt=0)]
"""JSON numbers only: a number in a string is a wrong type, not a number."""
PriceValue = Annotated[
    StrictFloat, Field(ge=limits.PRICE_MIN, le=limits.PRICE_MAX, allow_inf_nan=False)
]
"""An input price: finite, at least a minimum tick (see `services.limits`)."""
RatePct = Annotated[
    StrictFloat, Field(ge=limits.RATE_PCT_MIN, le=limits.RATE_PCT_MAX, allow_inf_nan=False)
]


def _text(max_chars: int) -> Any:
    """A non-empty string of at most `max_chars` characters, without NUL."""
    return Field(min_length=1, max_length=max_chars, pattern=limits.NO_NUL_PATTERN)


AnnouncementId = Annotated[str, _text(limits.ID_MAX_CHARS)]
InstrumentName = Annotated[str, _text(limits.INSTRUMENT_MAX_CHARS)]
Sector = Annotated[str, _text(limits.SECTOR_MAX_CHARS)]
Source = Annotated[str, _text(limits.SOURCE_MAX_CHARS)]
Headline = Annotated[str, _text(limits.HEADLINE_MAX_CHARS)]
Url = Annotated[str, _text(limits.URL_MAX_CHARS)]

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["KR"])]
Precision = Literal["second", "minute", "hour", "day"]
Action = Literal[
    "impose", "raise", "lower", "pause", "delay", "exempt", "deal", "threaten", "other"
]
BarInterval = Literal["1m", "5m", "1h", "1d"]
Granularity = Literal["tick", "1m", "1d"]
Direction = Literal["up", "down", "flat"]


class Event(BaseModel):
    """Unknown extra fields are ignored (forward compatible); values are immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Extraction(Event):
    """How sure the rule-based extractor of `services/sources` was, and what it matched."""

    confidence: Annotated[StrictFloat, Field(ge=0, le=1)]
    """0 (nothing recognised) to 1 (targets, action and rate all found)."""
    matched: list[str] = []
    """The terms of the text that decided the fields, e.g. ["korea", "25%", "impose"]."""


class Announcement(Event):
    """A policy announcement on `tariff.announcements`."""

    id: AnnouncementId
    """Idempotency key: a repeat is a duplicate."""
    published_at: UtcDatetime
    published_at_precision: Precision = "minute"
    """"day" when only the date is known."""
    source: Source | None = None
    issuer: CountryCode = "US"
    targets: Annotated[list[CountryCode], Field(min_length=1, max_length=limits.TARGETS_MAX_ITEMS)]
    sectors: Annotated[list[Sector], Field(min_length=1, max_length=limits.SECTORS_MAX_ITEMS)] = [
        "all"
    ]
    action: Action = "other"
    tariff_rate_pct: RatePct | None = None
    previous_rate_pct: RatePct | None = None
    effective_at: UtcDatetime | IsoDate | None = None
    headline: Headline
    url: Url | None = None
    supersedes: AnnouncementId | None = None
    """The id of the announcement this one corrects (a correction is a new id)."""
    extraction: Extraction | None = None
    """How a source's extractor read the text; null for announcements entered by hand."""
    story_id: AnnouncementId | None = None
    """Set by the service: the id of the first announcement of the same policy (its own id when
    it is that first, "novel", one; another id for an echo). Producers leave it out."""
    first_seen_at: UtcDatetime | None = None
    """Set by the service: when the story was first published."""


class Price(Event):
    """A tick (`price`) or a bar (`open`/`high`/`low`/`close` with `interval`) on `market.prices`.

    `ts` is the tick time, or the bar's start; a bar covers [ts, ts + interval).
    """

    instrument: InstrumentName
    ts: UtcDatetime
    price: PriceValue | None = None
    open: PriceValue | None = None
    high: PriceValue | None = None
    low: PriceValue | None = None
    close: PriceValue | None = None
    interval: BarInterval | None = None
    volume: (
        Annotated[StrictFloat, Field(ge=0, le=limits.VOLUME_MAX, allow_inf_nan=False)] | None
    ) = None

    @model_validator(mode="after")
    def _tick_or_bar(self) -> Self:
        bar = (self.open, self.high, self.low, self.close, self.interval)
        if self.price is not None:
            if any(v is not None for v in bar):
                raise PydanticCustomError(
                    "tick_or_bar", "a price event is a tick (price) or a bar (ohlc), not both"
                )
            return self
        match bar:
            case (float() as open_, float() as high, float() as low, float() as close, str()):
                if low > min(open_, close) or high < max(open_, close):
                    raise PydanticCustomError(
                        "inconsistent_bar", "bar prices must satisfy low <= open, close <= high"
                    )
                return self
        raise PydanticCustomError(
            "tick_or_bar", "a bar needs open, high, low, close and interval (or give price)"
        )

    @property
    def is_bar(self) -> bool:
        return self.price is None


class ReactionId(NamedTuple):
    """What a reaction is: one announcement, one instrument, one horizon. Its revisions share it;
    each revision's `signal_id` extends it with the revision number."""

    announcement_id: str
    instrument: str
    horizon: str

    def signal_id(self, revision: int) -> str:
        return f"{self.announcement_id}|{self.instrument}|{self.horizon}|{revision}"

    def text(self) -> str:
        """`announcement_id|instrument|horizon`, as stored where one column holds it."""
        return f"{self.announcement_id}|{self.instrument}|{self.horizon}"


class Signal(Event):
    """One revision of the reaction of an instrument to an announcement at one horizon."""

    signal_id: str
    """`ReactionId.signal_id(revision)`: `announcement_id|instrument|horizon|revision`."""
    cursor: StrictInt | None = None
    """Monotonic position in the store's revision log, for resuming; null until stored."""
    announcement_id: str
    instrument: str
    horizon: str
    revision: Annotated[StrictInt, Field(ge=1)]
    final: StrictBool
    corrected: StrictBool = False
    anchor_at: UtcDatetime
    base_price: PositiveFloat
    base_at: UtcDatetime
    last_price: PositiveFloat
    last_at: UtcDatetime
    return_pct: StrictFloat
    max_rise_pct: StrictFloat
    max_fall_pct: StrictFloat
    peak_at: UtcDatetime
    time_to_peak_s: StrictFloat
    gap_pct: StrictFloat | None = None
    baseline_mean_pct: StrictFloat | None = None
    baseline_std_pct: StrictFloat | None = None
    z_score: StrictFloat | None = None
    abnormal_return_pct: StrictFloat | None = None
    significant: StrictBool | None = None
    direction: Direction
    confounders: list[str] = []
    data_granularity: Granularity
    emitted_at: UtcDatetime

    @property
    def reaction_id(self) -> ReactionId:
        return ReactionId(self.announcement_id, self.instrument, self.horizon)


def signal_key(signal: Signal) -> bytes:
    return f"{signal.announcement_id}|{signal.instrument}".encode()


def signal_value(signal: Signal) -> bytes:
    """The signal contract as JSON: what Kafka, live clients and replay files carry.

    Encoded straight from the model's field values (times are UTC, so `Z`), the bytes
    `model_dump(mode="json")` would give at a sixth of the cost; tests/test_events.py
    holds the two equal."""
    return orjson.dumps(signal.__dict__, option=orjson.OPT_UTC_Z)
