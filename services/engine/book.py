"""Everything the engine keeps for one instrument, in one object (forgotten as one)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.calendar import SessionCalendar
from services.engine.config import EngineConfig
from services.engine.history import PriceHistory, PriceStore
from services.engine.registry import Instrument
from services.engine.windows import WindowTable
from services.events import ReactionId, Signal

I64 = npt.NDArray[np.int64]
_NO_TIMES = np.empty(0, dtype=np.int64)
_NO_END = -(2**63)
_NONE_HELD = np.empty(0, dtype=np.intp)
WindowKey = tuple[str, str]
"""(announcement_id, horizon): a window of one instrument."""


@dataclass(slots=True, eq=False)
class InstrumentBook:
    instrument: Instrument
    prices: PriceHistory
    """Its view of the engine's price store (watermark, history, session closes)."""
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
    _retired_spans: tuple[list[Any], int, I64, I64, int] | None = None
    """(`retired` and its length when read, its anchors and its ends as arrays, the latest
    end)."""

    @classmethod
    def empty(
        cls,
        instrument: Instrument,
        calendar: SessionCalendar,
        config: EngineConfig,
        windows: WindowTable | None = None,
        prices: PriceStore | None = None,
    ) -> InstrumentBook:
        """A book with no state; `windows` and `prices` are of the instrument's code in the
        engine's stores (or stores of its own)."""
        table = WindowTable() if windows is None else windows
        history = PriceHistory(instrument.symbol, calendar, config, prices, table.code)
        return cls(instrument, history, table)

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def calendar(self) -> SessionCalendar:
        return self.prices.calendar

    def retired_holding(self, t_us: int) -> npt.NDArray[np.intp]:
        """Positions in `retired` of the finals whose window holds `t_us`, in order (`retired`
        only grows, or is replaced whole, and a correction keeps a final's span): its spans
        are kept as arrays, extended by the finals retired since the last call, with their
        latest end (a time after it, the usual new anchor, is held by none)."""
        retired = self.retired
        spans = self._retired_spans
        if spans is None or spans[0] is not retired or spans[1] > len(retired):
            spans = (retired, 0, _NO_TIMES, _NO_TIMES, _NO_END)
        if spans[1] < len(retired):
            new = retired[spans[1] :]
            starts = np.fromiter((r[0] for r in new), dtype=np.int64, count=len(new))
            ends = np.fromiter((r[1] for r in new), dtype=np.int64, count=len(new))
            spans = (
                retired,
                len(retired),
                np.concatenate((spans[2], starts)),
                np.concatenate((spans[3], ends)),
                max(spans[4], int(ends.max())),
            )
            self._retired_spans = spans
        if t_us > spans[4]:
            return _NONE_HELD
        return np.flatnonzero((spans[2] <= t_us) & (t_us <= spans[3]))

    def correct_retired(
        self, anchor_us: int, ann_id: str, emitted_at: datetime
    ) -> list[dict[str, Any]]:
        """Retired finals that hold `anchor_us` gain `ann_id` as a confounder: a correction
        each, kept as the final's last revision."""
        out: list[dict[str, Any]] = []
        retired = self.retired
        for i in self.retired_holding(anchor_us).tolist():
            start_us, end_us, sent = retired[i]
            if sent["announcement_id"] != ann_id:
                revision = sent["revision"] + 1
                new = {
                    **sent,
                    "signal_id": ReactionId(
                        sent["announcement_id"], self.symbol, sent["horizon"]
                    ).signal_id(revision),
                    "revision": revision,
                    "corrected": True,
                    "confounders": tuple(sorted({*sent["confounders"], ann_id})),
                    "emitted_at": emitted_at,
                }
                retired[i] = (start_us, end_us, new)
                out.append(new)
        return out

    def emptied(self) -> InstrumentBook:
        """The same instrument with no prices, windows or restored revisions (its windows'
        rows in the store are retired, its prices dropped from the price store)."""
        windows = self.windows.store.table(self.windows.code)
        store = self.prices.store
        store.forget(self.prices.code)
        return InstrumentBook.empty(
            self.instrument, self.calendar, self.prices.config, windows, store
        )
