"""Query filters and the keys that keyset pagination resumes after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

from services.events import Signal
from services.frames import to_us

GroupBy = Literal["action", "sector", "instrument", "target"]
Metric = Literal["return_pct", "abnormal_return_pct", "max_rise_pct", "max_fall_pct", "z_score"]


@dataclass(frozen=True, slots=True)
class ReactionFilter:
    """Every field narrows the selection; None means no constraint."""

    instrument: str | None = None
    target: str | None = None
    """An ISO country among the announcement's targets."""
    sector: str | None = None
    """A sector among the announcement's sectors."""
    action: str | None = None
    horizon: str | None = None
    start: datetime | None = None
    """Inclusive bound on the reaction's anchor time."""
    end: datetime | None = None
    """Exclusive bound on the reaction's anchor time."""
    final: bool | None = None
    min_abs_z: float | None = None


@dataclass(frozen=True, slots=True)
class AnnouncementFilter:
    target: str | None = None
    sector: str | None = None
    action: str | None = None
    start: datetime | None = None
    """Inclusive bound on `published_at`."""
    end: datetime | None = None
    """Exclusive bound on `published_at`."""


class ReactionKey(NamedTuple):
    """Reactions are listed in this order; it never changes for a stored reaction."""

    anchor_at_us: int
    announcement_id: str
    instrument: str
    horizon: str

    @classmethod
    def of(cls, signal: Signal) -> ReactionKey:
        return cls(to_us(signal.anchor_at), *signal.reaction_id)


class AnnouncementKey(NamedTuple):
    published_at_us: int
    id: str
