"""GET /v1/studies: an event study (DESIGN §4b) over the stored announcements and session closes,
the same computation as `market-reaction study` over files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from services.api.deps import runtime_of
from services.api.problems import PROBLEM_RESPONSES, unprocessable
from services.api.v1.deps import StoreDep
from services.api.v1.formats import EXPORT_RESPONSES, Format, frame_response, negotiate
from services.api.v1.params import AsOf, From, Instrument, Sector, Target, To, check_range
from services.engine.registry import InstrumentRegistry, load_registry
from services.events import Action
from services.study.exceptions import StudyParamsError
from services.study.params import Model, StudyParams
from services.study.result import StudyResult
from services.study.select import EventFilter
from services.study.stored import study_from_store

router = APIRouter(prefix="/studies", tags=["studies"], responses=PROBLEM_RESPONSES)
_PAIR = r"^-?[0-9]{1,4},-?[0-9]{1,4}$"


def _instruments(request: Request) -> InstrumentRegistry:
    registry = runtime_of(request).instruments
    return registry if registry is not None else load_registry()


def _pair(text: str) -> tuple[int, int]:
    a, b = text.split(",")
    return int(a), int(b)


@router.get(
    "",
    summary="Event study: CAAR, its path and the standard tests, from the stored history",
    response_model=StudyResult,
    responses={
        **EXPORT_RESPONSES,
        422: {
            "description": "A model needing a benchmark the instrument lacks, an inverted "
            "window, or an estimation window that overlaps the event window"
        },
    },
)
async def get_study(
    request: Request,
    store: StoreDep,
    registry: Annotated[InstrumentRegistry, Depends(_instruments)],
    instrument: Instrument,
    model: Annotated[Model, Query(description="mean, market or market_model")] = "mean",
    window: Annotated[
        str, Query(pattern=_PAIR, description="Event window τ1,τ2 in sessions", examples=["0,5"])
    ] = "0,5",
    estimation: Annotated[
        str, Query(pattern=_PAIR, description="Estimation window E1,E2", examples=["-130,-11"])
    ] = "-130,-11",
    exclude_confounded: bool = False,
    action: Annotated[Action | None, Query()] = None,
    sector: Sector = None,
    target: Target = None,
    start: From = None,
    end: To = None,
    as_of: AsOf = None,
    format: Annotated[Format | None, Query(description="Overrides the Accept header")] = None,
) -> StudyResult | Response:
    check_range(start, end)
    fmt = negotiate(request, format)
    try:
        params = StudyParams(
            model=model,
            window=_pair(window),
            estimation=_pair(estimation),
            exclude_confounded=exclude_confounded,
        )
        where = EventFilter(action=action, sector=sector, target=target, start=start, end=end)
        result = await study_from_store(store, registry, instrument, params, where, as_of)
    except StudyParamsError as exc:
        raise unprocessable(str(exc)) from exc
    if fmt != "json":
        return frame_response(result.events_frame(), fmt, next_cursor=None)
    return result
