"""What the /v1 routes depend on: the store and the API's hard limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.api.deps import runtime_of
from services.api.problems import ProblemError
from services.settings import Settings
from services.store.types import HistoryReader


@dataclass(frozen=True, slots=True)
class ApiLimits:
    page_size_default: int = 100
    page_size_max: int = 1000
    """Hard maximum of `limit` for JSON pages."""
    export_rows_max: int = 50_000
    """Hard maximum of `limit` for CSV and Parquet."""
    price_points_max: int = 50_000
    """Widest price query, in bars of the requested interval."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiLimits:
        return cls(
            page_size_default=settings.api_page_size_default,
            page_size_max=settings.api_page_size_max,
            export_rows_max=settings.api_export_rows_max,
            price_points_max=settings.api_price_points_max,
        )


def _store(request: Request) -> HistoryReader:
    store = runtime_of(request).store
    if store is None:
        raise ProblemError(503, "this process reads no store", kind="unavailable")
    return store


def _limits(request: Request) -> ApiLimits:
    limits: ApiLimits = request.app.state.api_limits
    return limits


StoreDep = Annotated[HistoryReader, Depends(_store)]
LimitsDep = Annotated[ApiLimits, Depends(_limits)]
