"""Everything the engine keeps for one instrument, in one object (forgotten as one)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.engine.baselines import Baselines
from services.engine.calendar import SessionCalendar
from services.engine.config import EngineConfig
from services.engine.history import PriceHistory
from services.engine.registry import Instrument
from services.engine.windows import WindowTable
from services.events import Signal

WindowKey = tuple[str, str]
"""(announcement_id, horizon): a window of one instrument."""


@dataclass(slots=True, eq=False)
class InstrumentBook:
    instrument: Instrument
    prices: PriceHistory
    baselines: Baselines
    windows: WindowTable = field(default_factory=WindowTable)
    """Open windows (rows of the engine's store), and the anchors of the announcements that
    opened them."""
    retired: list[tuple[int, int, Mapping[str, Any]]] = field(default_factory=list)
    """(anchor µs, end µs, fields of the last revision) of final windows no tick can change;
    kept so a late announcement anchored inside one still corrects its confounders."""
    retired_returns: dict[WindowKey, float] = field(default_factory=dict)
    """Final returns of retired windows of a benchmark, for its dependents' abnormal returns."""
    pending: dict[WindowKey, Signal] = field(default_factory=dict)
    """Restored revisions of windows that have not opened yet."""

    @classmethod
    def empty(
        cls,
        instrument: Instrument,
        calendar: SessionCalendar,
        config: EngineConfig,
        windows: WindowTable | None = None,
    ) -> InstrumentBook:
        prices = PriceHistory(instrument.symbol, calendar, config)
        baselines = Baselines(prices.session_closes, config.baseline_sessions)
        return cls(instrument, prices, baselines, WindowTable() if windows is None else windows)

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def calendar(self) -> SessionCalendar:
        return self.prices.calendar

    def emptied(self) -> InstrumentBook:
        """The same instrument with no prices, windows or restored revisions (its windows'
        rows in the store are retired)."""
        windows = self.windows.store.table(self.windows.code)
        return InstrumentBook.empty(self.instrument, self.calendar, self.prices.config, windows)
