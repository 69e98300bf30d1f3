"""What a study answers: one row per event and the cross-event statistics (DESIGN §4b)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import polars as pl

from services.study.params import StudyParams


@dataclass(frozen=True, slots=True)
class EventResult:
    """One announcement on the study's instrument; model fields are None when it is left out."""

    announcement_id: str
    anchor_session: date
    """Day 0: the session the reaction window anchors in (DESIGN §4)."""
    car_pct: float | None
    """Cumulative abnormal return over the event window, in percent."""
    scar: float | None
    """Standardised CAR: Σ SAR / √T."""
    sigma_pct: float | None
    """σ̂ of the model's abnormal returns over the estimation window, in percent."""
    alpha: float | None
    """Market model intercept (percent per session); None for the other models."""
    beta: float | None
    """Market model slope; None for the other models."""
    n_estimation: int
    """L: returns in the estimation window."""
    confounded: bool
    """Another announcement to the instrument is anchored inside the event window."""


@dataclass(frozen=True, slots=True)
class PathPoint:
    """CAAR(τ1, τ) with its interval."""

    tau: int
    caar_pct: float | None
    lower_pct: float | None
    upper_pct: float | None


@dataclass(frozen=True, slots=True)
class StudyResult:
    instrument: str
    params: StudyParams
    n: int
    """Events with a result, in the aggregate."""
    n_left_out: int
    """Events without a result: too little estimation history or no return in the window."""
    n_excluded_confounded: int
    """Confounded events left out because the study asked so."""
    caar_pct: float | None
    caar_lower_pct: float | None
    caar_upper_pct: float | None
    t_cs: float | None
    z_patell: float | None
    t_bmp: float | None
    z_sign: float | None
    z_rank: float | None
    path: list[PathPoint] = field(default_factory=list)
    events: list[EventResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: aggregate fields at the top, `path` and `events` as lists."""
        p = self.params
        return {
            "instrument": self.instrument,
            "model": p.model,
            "window": list(p.window),
            "estimation": list(p.estimation),
            "exclude_confounded": p.exclude_confounded,
            "n": self.n,
            "n_left_out": self.n_left_out,
            "n_excluded_confounded": self.n_excluded_confounded,
            "caar_pct": self.caar_pct,
            "caar_lower_pct": self.caar_lower_pct,
            "caar_upper_pct": self.caar_upper_pct,
            "t_cs": self.t_cs,
            "z_patell": self.z_patell,
            "t_bmp": self.t_bmp,
            "z_sign": self.z_sign,
            "z_rank": self.z_rank,
            "path": [asdict(pt) for pt in self.path],
            "events": [
                {**asdict(e), "anchor_session": e.anchor_session.isoformat()} for e in self.events
            ],
        }

    def events_frame(self) -> pl.DataFrame:
        """The per-event rows as a frame (for CSV and Parquet)."""
        return pl.DataFrame([asdict(e) for e in self.events], schema=EVENT_SCHEMA)


EVENT_SCHEMA: dict[str, pl.DataType] = {
    "announcement_id": pl.String(),
    "anchor_session": pl.Date(),
    "car_pct": pl.Float64(),
    "scar": pl.Float64(),
    "sigma_pct": pl.Float64(),
    "alpha": pl.Float64(),
    "beta": pl.Float64(),
    "n_estimation": pl.Int64(),
    "confounded": pl.Boolean(),
}
