"""GET /v1/prices/{instrument}: stored bars resampled with polars."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from services.api.problems import PROBLEM_RESPONSES, invalid_parameter
from services.api.v1.deps import LimitsDep, StoreDep
from services.api.v1.params import InstrumentPath, check_range
from services.api.v1.schemas import PriceBar, PriceBars
from services.events import UtcDatetime
from services.store.analytics import ResampleInterval, resample_bars

router = APIRouter(prefix="/prices", tags=["prices"], responses=PROBLEM_RESPONSES)

_LENGTH = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}


@router.get("/{instrument}", summary="Price bars of one instrument, resampled")
async def price_bars(
    store: StoreDep,
    limits: LimitsDep,
    instrument: InstrumentPath,
    start: Annotated[UtcDatetime, Query(alias="from", description="Inclusive, RFC 3339")],
    end: Annotated[UtcDatetime, Query(alias="to", description="Exclusive, RFC 3339")],
    interval: Annotated[ResampleInterval, Query()] = "1m",
) -> PriceBars:
    check_range(start, end)
    points = (end - start) / _LENGTH[interval]
    if points > limits.price_points_max:
        raise invalid_parameter(
            f"from..to spans {points:.0f} bars of {interval}; the maximum is "
            f"{limits.price_points_max}: narrow the range or use a longer interval"
        )
    # daily bars come from the daily table, falling back to 1-minute bars when it has none
    bars = await store.bars(instrument, start, end, interval="1d" if interval == "1d" else "1m")
    if interval == "1d" and bars.height == 0:
        bars = await store.bars(instrument, start, end, interval="1m")
    frame = resample_bars(bars, interval)
    return PriceBars(
        instrument=instrument,
        interval=interval,
        bars=[PriceBar.model_validate(row) for row in frame.to_dicts()],
    )
