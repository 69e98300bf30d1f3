"""A study over the store: the announcements and session closes known (at `as_of`, if given)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from services.engine.registry import InstrumentRegistry
from services.frames import to_us
from services.store.filters import AnnouncementFilter
from services.store.types import HistoryReader
from services.study.assemble import assemble_study, study_instrument
from services.study.params import StudyParams
from services.study.result import StudyResult
from services.study.select import EventFilter

_ALL = 10_000_000


async def study_from_store(
    store: HistoryReader,
    registry: InstrumentRegistry,
    symbol: str,
    params: StudyParams,
    where: EventFilter | None = None,
    as_of: datetime | None = None,
) -> StudyResult:
    """Raises `StudyParamsError` for an unknown instrument or a model it cannot have."""
    inst, bench = study_instrument(registry, symbol, params)
    # routing needs the instrument's country among the targets; published by `as_of` inclusive
    end = None if as_of is None else as_of + timedelta(microseconds=1)
    known = AnnouncementFilter(target=inst.country, end=end)
    announcements = await store.list_announcements(known, after=None, limit=_ALL)
    symbols = [symbol] if bench is None else [symbol, bench]
    closes = await store.session_closes(symbols, as_of_us=None if as_of is None else to_us(as_of))
    # polars and numpy work off the event loop, which keeps serving meanwhile
    return await asyncio.to_thread(
        assemble_study, announcements, closes, registry, symbol, params, where
    )
