"""What a study answers: one row per event and the cross-event statistics (DESIGN §4b)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from services.study.params import Model, StudyParams


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


class StudyResult(BaseModel):
    """What a study answers, as `GET /v1/studies` and `market-reaction study` give it: the
    parameters and the aggregates at the top, `path` for a plot, one row per event in `events`."""

    model_config = ConfigDict(frozen=True)

    instrument: str
    model: Model
    window: tuple[int, int]
    estimation: tuple[int, int]
    exclude_confounded: bool
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
    path: list[PathPoint] = []
    events: list[EventResult] = []

    @classmethod
    def of(cls, instrument: str, params: StudyParams, **values: Any) -> StudyResult:
        return cls(
            instrument=instrument,
            model=params.model,
            window=params.window,
            estimation=params.estimation,
            exclude_confounded=params.exclude_confounded,
            **values,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as YYYY-MM-DD, windows as lists."""
        return self.model_dump(mode="json")

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
