"""Query parameters shared by the routes, validated into the store's filters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query

from services import limits
from services.api.problems import invalid_parameter
from services.events import Action, UtcDatetime
from services.store.filters import AnnouncementFilter, ReactionFilter

HORIZON_PATTERN = r"^(?:[1-9][0-9]{0,5}[smh]|close(?:\+[0-9]{1,3})?)$"
"""The engine's horizon grammar: 5m, 30m, 2h, close, close+1, close+5, ..."""

Instrument = Annotated[
    str, Query(min_length=1, max_length=limits.INSTRUMENT_MAX_CHARS, examples=["KOSPI"])
]
OptionalInstrument = Annotated[
    str | None, Query(min_length=1, max_length=limits.INSTRUMENT_MAX_CHARS)
]
InstrumentPath = Annotated[str, Path(min_length=1, max_length=limits.INSTRUMENT_MAX_CHARS)]
AnnouncementIdPath = Annotated[str, Path(min_length=1, max_length=limits.ID_MAX_CHARS)]
"""An announcement's (or a story's: its first announcement's) id in a path."""
Target = Annotated[
    str | None, Query(pattern=r"^[A-Z]{2}$", description="ISO country among the targets")
]
Sector = Annotated[
    str | None, Query(min_length=1, max_length=limits.SECTOR_MAX_CHARS, examples=["autos"])
]
Horizon = Annotated[str | None, Query(pattern=HORIZON_PATTERN, examples=["close"])]
From = Annotated[
    UtcDatetime | None,
    Query(alias="from", description="Inclusive lower bound, RFC 3339 with a zone"),
]
To = Annotated[UtcDatetime | None, Query(alias="to", description="Exclusive upper bound, RFC 3339")]
Cursor = Annotated[
    str | None, Query(max_length=2000, description="`next_cursor` of the previous page")
]
Limit = Annotated[int | None, Query(ge=1, description="Page size (hard maximum applies)")]
AsOf = Annotated[
    UtcDatetime | None,
    Query(description="What was known at this time (RFC 3339): revisions emitted by then"),
]


def check_range(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start > end:
        raise invalid_parameter(f"from ({start.isoformat()}) is after to ({end.isoformat()})")


def reaction_filter(
    instrument: OptionalInstrument = None,
    target: Target = None,
    sector: Sector = None,
    action: Annotated[Action | None, Query()] = None,
    horizon: Horizon = None,
    start: From = None,
    end: To = None,
    final: Annotated[bool | None, Query(description="Only final (true) or open (false)")] = None,
    min_abs_z: Annotated[float | None, Query(ge=0, le=1e6, description="Minimum |z_score|")] = None,
) -> ReactionFilter:
    check_range(start, end)
    return ReactionFilter(
        instrument=instrument,
        target=target,
        sector=sector,
        action=action,
        horizon=horizon,
        start=start,
        end=end,
        final=final,
        min_abs_z=min_abs_z,
    )


def announcement_filter(
    target: Target = None,
    sector: Sector = None,
    action: Annotated[Action | None, Query()] = None,
    start: From = None,
    end: To = None,
) -> AnnouncementFilter:
    check_range(start, end)
    return AnnouncementFilter(target=target, sector=sector, action=action, start=start, end=end)


def stats_filter(
    horizon: Annotated[str, Query(pattern=HORIZON_PATTERN, examples=["close"])],
    instrument: OptionalInstrument = None,
    target: Target = None,
    sector: Sector = None,
    action: Annotated[Action | None, Query()] = None,
    start: From = None,
    end: To = None,
    final: Annotated[
        bool | None, Query(description="true (default): final reactions only; omit-able")
    ] = True,
    min_abs_z: Annotated[float | None, Query(ge=0, le=1e6)] = None,
) -> ReactionFilter:
    """As `reaction_filter`, but one horizon is required (statistics across horizons mix
    unlike windows) and only final reactions count unless `final` says otherwise."""
    return reaction_filter(
        instrument, target, sector, action, horizon, start, end, final, min_abs_z
    )


ReactionFilterDep = Annotated[ReactionFilter, Depends(reaction_filter)]
AnnouncementFilterDep = Annotated[AnnouncementFilter, Depends(announcement_filter)]
StatsFilterDep = Annotated[ReactionFilter, Depends(stats_filter)]


def page_size(limit: int | None, *, default: int, maximum: int) -> int:
    if limit is None:
        return min(default, maximum)
    if limit > maximum:
        raise invalid_parameter(f"limit {limit} is above the maximum page size {maximum}")
    return limit
