"""What a study asks: the model, the event and estimation windows, and confounder handling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from services.study.exceptions import StudyParamsError

Model = Literal["mean", "market", "market_model"]
MODELS: tuple[Model, ...] = get_args(Model)
BENCHMARK_MODELS: frozenset[Model] = frozenset({"market", "market_model"})
DEGREES: dict[Model, int] = {"mean": 1, "market": 1, "market_model": 2}
"""Degrees of freedom each model uses on the estimation window (`d` of DESIGN §4b)."""


@dataclass(frozen=True, slots=True)
class StudyParams:
    """Windows are in sessions relative to day 0, the anchor session; both ends included."""

    model: Model = "mean"
    window: tuple[int, int] = (0, 5)
    """Event window [τ1, τ2]."""
    estimation: tuple[int, int] = (-130, -11)
    """Estimation window [E1, E2]; it must end before the event window starts."""
    min_estimation: int = 60
    """Fewest estimation returns an event needs; with fewer it is left out and counted."""
    exclude_confounded: bool = False
    """Leave out events with another announcement to the instrument anchored in the window."""
    z_critical: float = 1.96
    """Half-width of the CAAR intervals, in standard errors (95%)."""

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise StudyParamsError(f"model {self.model!r}: expected one of {', '.join(MODELS)}")
        (t1, t2), (e1, e2) = self.window, self.estimation
        if t1 > t2:
            raise StudyParamsError(f"event window [{t1}, {t2}] is inverted: τ1 must be ≤ τ2")
        if e1 > e2:
            raise StudyParamsError(f"estimation window [{e1}, {e2}] is inverted: E1 must be ≤ E2")
        if e2 >= t1:
            raise StudyParamsError(
                f"estimation window [{e1}, {e2}] overlaps or follows the event window "
                f"[{t1}, {t2}]: it must end before τ1"
            )
        if self.min_estimation < DEGREES[self.model] + 3:
            raise StudyParamsError(
                f"min_estimation {self.min_estimation} is too small for model {self.model!r}"
            )

    @property
    def needs_benchmark(self) -> bool:
        return self.model in BENCHMARK_MODELS

    @property
    def degrees(self) -> int:
        return DEGREES[self.model]

    @property
    def event_length(self) -> int:
        """T = τ2 − τ1 + 1."""
        return self.window[1] - self.window[0] + 1
