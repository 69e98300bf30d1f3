"""A study from announcements and session closes, wherever they come from (files or the store):
one path, so `market-reaction study` and `/v1/studies` give the same numbers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import polars as pl

from services.engine.calendar import get_calendar
from services.engine.config import EngineConfig
from services.engine.registry import Instrument, InstrumentRegistry
from services.events import Announcement
from services.study.closes import on_sessions_of, session_returns
from services.study.core import run_study
from services.study.exceptions import StudyParamsError
from services.study.params import StudyParams
from services.study.result import StudyResult
from services.study.select import EventFilter, study_events


def study_instrument(
    registry: InstrumentRegistry, symbol: str, params: StudyParams
) -> tuple[Instrument, str | None]:
    """The instrument and the benchmark the model uses; a clear error when either is missing."""
    inst = registry.get(symbol)
    if inst is None:
        known = ", ".join(i.symbol for i in registry)
        raise StudyParamsError(f"unknown instrument {symbol!r}: the registry has {known}")
    if params.needs_benchmark and inst.benchmark is None:
        raise StudyParamsError(
            f"model {params.model!r} needs a benchmark, and {symbol} has none in the registry; "
            "use model=mean or an instrument with a benchmark"
        )
    return inst, inst.benchmark if params.needs_benchmark else None


def assemble_study(
    announcements: Iterable[Announcement],
    closes: pl.DataFrame,
    registry: InstrumentRegistry,
    symbol: str,
    params: StudyParams,
    where: EventFilter | None = None,
    config: EngineConfig | None = None,
) -> StudyResult:
    """`closes` in `CLOSES_SCHEMA` (at least the instrument's and its benchmark's)."""
    inst, bench = study_instrument(registry, symbol, params)
    cfg = config or EngineConfig()
    cal = get_calendar(inst.calendar, cfg.calendar_start, cfg.calendar_end)
    instrument = pl.col("instrument")
    returns = session_returns(closes.filter(instrument == symbol), cal)
    market = None
    if bench is not None:
        bench_inst = registry.get(bench)
        assert bench_inst is not None  # the registry checks its benchmarks exist
        bench_cal = get_calendar(bench_inst.calendar, cfg.calendar_start, cfg.calendar_end)
        market = on_sessions_of(
            session_returns(closes.filter(instrument == bench), bench_cal), bench_cal, cal
        )
    events = study_events(announcements, inst, registry, cal, params, where or EventFilter())
    sessions = _session_dates(inst.calendar, cfg.calendar_start, cfg.calendar_end)
    return run_study(events, returns, sessions, params, market_pct=market, instrument=symbol)


@lru_cache(maxsize=16)
def _session_dates(code: str, start: date, end: date) -> tuple[date, ...]:
    return tuple(date.fromordinal(o) for o in get_calendar(code, start, end).labels)
