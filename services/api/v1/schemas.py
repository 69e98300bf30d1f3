"""Response models of the /v1 API, in families (`ReactionPublic`, `ReactionsPage`, ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.events import Announcement, Signal

_REACTION_EXAMPLE: dict[str, Any] = {
    "signal_id": "us-letter-kr-2025-07-07|KOSPI|close|5",
    "cursor": 1208,
    "announcement_id": "us-letter-kr-2025-07-07",
    "instrument": "KOSPI",
    "horizon": "close",
    "revision": 5,
    "final": True,
    "corrected": False,
    "anchor_at": "2025-07-08T00:00:00Z",
    "base_price": 3059.47,
    "base_at": "2025-07-07T06:30:00Z",
    "last_price": 3114.95,
    "last_at": "2025-07-08T06:30:00Z",
    "return_pct": 1.8134,
    "max_rise_pct": 1.8399,
    "max_fall_pct": 0.086,
    "peak_at": "2025-07-08T05:42:00Z",
    "time_to_peak_s": 20520.0,
    "gap_pct": 0.5207,
    "baseline_mean_pct": 0.11,
    "baseline_std_pct": 0.84,
    "z_score": 2.0279,
    "abnormal_return_pct": 1.7034,
    "significant": True,
    "direction": "up",
    "confounders": [],
    "data_granularity": "1m",
    "emitted_at": "2025-07-08T06:31:00Z",
}
_ANNOUNCEMENT_EXAMPLE: dict[str, Any] = {
    "id": "us-letter-kr-2025-07-07",
    "published_at": "2025-07-07T16:00:00Z",
    "published_at_precision": "minute",
    "source": "truth_social",
    "issuer": "US",
    "targets": ["KR"],
    "sectors": ["all"],
    "action": "impose",
    "tariff_rate_pct": 25.0,
    "previous_rate_pct": None,
    "effective_at": "2025-08-01",
    "headline": "US letter: 25% tariff on all Korean goods from 1 August",
    "url": None,
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class ReactionPublic(Signal):
    """One revision of a reaction (the `market.signals` contract) as stored, with its cursor."""

    model_config = _examples(_REACTION_EXAMPLE)

    cursor: int
    """Position in the store's revision log."""


class ReactionsPage(BaseModel):
    """The latest revision of each matching reaction, ordered by anchor time."""

    model_config = _examples(
        {"items": [_REACTION_EXAMPLE], "next_cursor": "WzE3NTE5MzI4MDAw", "limit": 100}
    )

    items: list[ReactionPublic]
    next_cursor: str | None
    """Pass as `cursor` for the next page; null on the last page."""
    limit: int


class RevisionHistory(BaseModel):
    """Every revision of one reaction, oldest first."""

    model_config = _examples(
        {
            "announcement_id": "us-letter-kr-2025-07-07",
            "instrument": "KOSPI",
            "horizon": "close",
            "revisions": [_REACTION_EXAMPLE],
        }
    )

    announcement_id: str
    instrument: str
    horizon: str
    revisions: list[ReactionPublic]


class AnnouncementPublic(Announcement):
    """A policy announcement as stored."""

    model_config = _examples(_ANNOUNCEMENT_EXAMPLE)


class AnnouncementDetail(AnnouncementPublic):
    """An announcement with the latest revision of each of its reactions."""

    model_config = _examples({**_ANNOUNCEMENT_EXAMPLE, "reactions": [_REACTION_EXAMPLE]})

    reactions: list[ReactionPublic]


class AnnouncementsPage(BaseModel):
    """Announcements ordered by publication time."""

    model_config = _examples({"items": [_ANNOUNCEMENT_EXAMPLE], "next_cursor": None, "limit": 100})

    items: list[AnnouncementPublic]
    next_cursor: str | None
    limit: int


class StatsGroup(BaseModel):
    """Statistics of one group's reactions (percent, like the metric)."""

    group: str
    n: int
    mean: float
    median: float
    std: float | None
    """Sample standard deviation (ddof 1); null for a single reaction."""
    t_stat: float | None
    """mean / (std / √n); null when std is null or zero."""
    hit_rate: float
    """Share of positive values."""
    min: float
    max: float


class ReactionStats(BaseModel):
    """Cross-event statistics of the latest revision of each matching reaction."""

    model_config = _examples(
        {
            "group_by": "action",
            "metric": "return_pct",
            "horizon": "close",
            "groups": [
                {
                    "group": "impose",
                    "n": 12,
                    "mean": -0.84,
                    "median": -0.61,
                    "std": 1.12,
                    "t_stat": -2.6,
                    "hit_rate": 0.25,
                    "min": -3.1,
                    "max": 1.81,
                }
            ],
        }
    )

    group_by: str
    metric: str
    horizon: str
    groups: list[StatsGroup]


class PriceBar(BaseModel):
    ts: datetime
    """Start of the bar; it covers [ts, ts + interval)."""
    open: float
    high: float
    low: float
    close: float
    volume: float | None


class PriceBars(BaseModel):
    """Stored bars of one instrument, resampled to `interval`."""

    model_config = _examples(
        {
            "instrument": "KOSPI",
            "interval": "5m",
            "bars": [
                {
                    "ts": "2025-07-08T00:00:00Z",
                    "open": 3075.4,
                    "high": 3081.2,
                    "low": 3074.9,
                    "close": 3080.3,
                    "volume": None,
                }
            ],
        }
    )

    instrument: str
    interval: str
    bars: list[PriceBar]
