"""Session closes (DESIGN §4b): per instrument and session, the last price observed at or before
the session's end; and the session returns they give, on the instrument's calendar.

One function serves the files (`market-reaction study`) and the store's write path, so both
see the same closes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from services.engine.calendar import SessionCalendar, get_calendar
from services.engine.config import EngineConfig
from services.engine.registry import InstrumentRegistry
from services.engine.rows import observations, split_prices

F64 = npt.NDArray[np.float64]
CLOSES_SCHEMA: dict[str, pl.DataType] = {
    "instrument": pl.String(),
    "session_close_us": pl.Int64(),
    "close": pl.Float64(),
    "observed_at_us": pl.Int64(),
}
"""One row per instrument and session: the session's end, its close and when that was seen."""


def load_calendars(
    registry: InstrumentRegistry, config: EngineConfig | None = None
) -> dict[str, SessionCalendar]:
    """Every instrument's calendar (built once per process: seconds for an exchange's)."""
    cfg = config or EngineConfig()
    return {
        i.symbol: get_calendar(i.calendar, cfg.calendar_start, cfg.calendar_end) for i in registry
    }


class SessionCloses:
    """Finds the session closes in price batches, with the registry's calendars."""

    def __init__(self, registry: InstrumentRegistry, config: EngineConfig | None = None) -> None:
        self.calendars = load_calendars(registry, config)

    def of_prices(self, prices: pl.DataFrame) -> pl.DataFrame:
        """The closes a `PRICE_SCHEMA` frame holds: per (instrument, session) its latest
        observation, the higher close on a tie (the order the engine's own session closes
        use), ordered by instrument and session. In numpy: the store's write path calls it
        per batch, where a frame operation's fixed cost would outweigh the work."""
        if prices.height == 0:
            return pl.DataFrame(schema=CLOSES_SCHEMA)
        parts = split_prices(prices, list(self.calendars)).parts
        symbols: list[str] = []
        columns: list[tuple[npt.NDArray[np.int64], F64, npt.NDArray[np.int64]]] = []
        for symbol in sorted(parts):
            cal = self.calendars[symbol]
            rows, _ = observations(parts[symbol], cal)
            session = cal.sessions_of(rows.obs_us)
            inside = session >= 0
            session, close, seen_us = session[inside], rows.close[inside], rows.obs_us[inside]
            # per session the latest observation, the higher close on a tie
            order = np.lexsort((close, seen_us, session))
            ordered = session[order]
            last = order[np.append(ordered[1:] != ordered[:-1], True)] if len(order) else order
            symbols += [symbol] * len(last)
            columns.append((cal.closes_us[session[last]], close[last], seen_us[last]))
        if not symbols:
            return pl.DataFrame(schema=CLOSES_SCHEMA)
        close_us, close, seen_us = (np.concatenate(c) for c in zip(*columns, strict=True))
        return pl.DataFrame(
            {
                "instrument": symbols,
                "session_close_us": close_us,
                "close": close,
                "observed_at_us": seen_us,
            },
            schema=CLOSES_SCHEMA,
        )


def session_returns(closes: pl.DataFrame, calendar: SessionCalendar) -> F64:
    """r_t = close_t / close_(t−1) − 1, in percent, by session index; NaN where either close
    is missing. `closes` has `session_close_us` and `close` of one instrument."""
    n = len(calendar.labels)
    dense = np.full(n + 1, np.nan)
    close_us = closes["session_close_us"].to_numpy()
    index = np.searchsorted(calendar.closes_us, close_us)
    ok = (index < n) & (calendar.closes_us[np.minimum(index, n - 1)] == close_us)
    dense[index[ok]] = closes["close"].to_numpy()[ok]
    out: F64 = np.full(n, np.nan)
    out[1:] = (dense[1:n] / dense[: n - 1] - 1.0) * 100.0
    return out


def on_sessions_of(returns_pct: F64, source: SessionCalendar, target: SessionCalendar) -> F64:
    """Returns on `source`'s sessions moved to `target`'s sessions of the same date (NaN where
    `source` has no session that day)."""
    if source is target:
        return returns_pct
    src = np.asarray(source.labels, dtype=np.int64)
    want = np.asarray(target.labels, dtype=np.int64)
    j = np.searchsorted(src, want)
    safe = np.minimum(j, len(src) - 1)
    out: F64 = np.where((j < len(src)) & (src[safe] == want), returns_pct[safe], np.nan)
    return out
