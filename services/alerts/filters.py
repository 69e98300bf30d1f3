"""Which revisions a subscription wants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services import limits
from services.events import Action, CountryCode, Signal


@dataclass(frozen=True, slots=True)
class AnnouncementLabels:
    """What the target, sector and action filters look at."""

    targets: frozenset[str]
    sectors: frozenset[str]
    action: str


class AlertFilter(BaseModel):
    """Named like the reaction filters; every field narrows, none means any."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {"instrument": "KOSPI", "horizon": "close", "final_only": True, "min_abs_z": 1.5}
            ]
        },
    )

    instrument: (
        Annotated[str, Field(min_length=1, max_length=limits.INSTRUMENT_MAX_CHARS)] | None
    ) = None
    horizon: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    action: Action | None = None
    sector: Annotated[str, Field(min_length=1, max_length=limits.SECTOR_MAX_CHARS)] | None = None
    target: CountryCode | None = None
    min_abs_z: Annotated[float, Field(ge=0)] | None = None
    final_only: bool = False
    """Only final revisions (a correction is final too)."""
    significant_only: bool = False
    corrections: bool = True
    """Also send corrected revisions (a late tick changed a final reaction)."""

    @property
    def needs_labels(self) -> bool:
        return self.action is not None or self.sector is not None or self.target is not None

    def matches(self, signal: Signal, labels: AnnouncementLabels | None) -> bool:
        if self.instrument is not None and signal.instrument != self.instrument:
            return False
        if self.horizon is not None and signal.horizon != self.horizon:
            return False
        if self.final_only and not signal.final:
            return False
        if self.significant_only and not signal.significant:
            return False
        if not self.corrections and signal.corrected:
            return False
        if self.min_abs_z is not None and (
            signal.z_score is None or abs(signal.z_score) < self.min_abs_z
        ):
            return False
        if not self.needs_labels:
            return True
        return (
            labels is not None
            and (self.target is None or self.target in labels.targets)
            and (self.sector is None or self.sector in labels.sectors)
            and (self.action is None or self.action == labels.action)
        )
