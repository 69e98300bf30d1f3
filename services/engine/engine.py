"""ReactionEngine: announcements and price batches in, reaction signals (revisions) out.

One code path for live and replay. Event time drives everything except the grace period,
which uses the injected clock's processing time; wall time only stamps `emitted_at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from services.engine.calendar import SessionCalendar, from_us, get_calendar, to_us
from services.engine.clock import SystemClock
from services.engine.config import EngineConfig
from services.engine.exceptions import CalendarError
from services.engine.history import NO_TIME, InstrumentState
from services.engine.reaction import Aggregates, Baseline, baseline_from_closes, content, pct
from services.engine.registry import Instrument, InstrumentRegistry
from services.engine.rows import observations, split_prices
from services.engine.stats import EngineStats
from services.engine.types import Clock
from services.engine.windows import AGGREGATES, WindowMeta, WindowTable
from services.events import Announcement, Signal

_US = 1_000_000


class ReactionEngine:
    """Links announcements to the moves of the instruments the registry routes them to."""

    def __init__(
        self,
        registry: InstrumentRegistry,
        config: EngineConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._registry = registry
        self._config = config or EngineConfig()
        self._clock: Clock = clock or SystemClock()
        cfg = self._config
        self._calendars: dict[str, SessionCalendar] = {
            i.symbol: get_calendar(i.calendar, cfg.calendar_start, cfg.calendar_end)
            for i in registry
        }
        self._states = {
            i.symbol: InstrumentState(i.symbol, self._calendars[i.symbol], cfg) for i in registry
        }
        self._tables = {i.symbol: WindowTable() for i in registry}
        self._anchors: dict[str, list[tuple[int, str]]] = {i.symbol: [] for i in registry}
        self._dependents: dict[str, list[str]] = {}
        for inst in registry:
            if inst.benchmark is not None:
                self._dependents.setdefault(inst.benchmark, []).append(inst.symbol)
        # benchmarks are evaluated first so dependents see their latest return
        self._order = sorted(self._states, key=lambda s: s not in self._dependents)
        self._announcements: dict[str, Announcement] = {}
        self._baselines: dict[tuple[str, int], Baseline | None] = {}
        self._retired_returns: dict[tuple[str, str, str], float] = {}
        # final reactions no tick can change; kept (one per window) so a late announcement
        # anchored inside them still corrects their confounders
        self._retired: dict[str, list[tuple[int, int, Signal]]] = {i.symbol: [] for i in registry}
        self._stats = EngineStats()

    # --- public API ----------------------------------------------------------------------
    @property
    def config(self) -> EngineConfig:
        return self._config

    @property
    def stats(self) -> EngineStats:
        """A snapshot of the counters."""
        self._stats.open_windows = sum(len(t) for t in self._tables.values())
        return EngineStats(**self._stats.as_dict())

    @property
    def counters(self) -> dict[str, int]:
        return self.stats.as_dict()

    def watermark(self, instrument: str) -> int | None:
        """The instrument's event time in µs since the epoch, or None before any data."""
        state = self._states.get(instrument)
        return None if state is None or state.watermark_us == NO_TIME else state.watermark_us

    def add_announcements(self, announcements: Sequence[Announcement]) -> list[Signal]:
        touched: set[str] = set()
        corrections: list[Signal] = []
        for ann in announcements:
            if ann.id in self._announcements:
                self._stats.duplicate_announcements += 1
                continue
            self._announcements[ann.id] = ann
            self._stats.announcements += 1
            routed = self._registry.route(ann)
            if not routed:
                self._stats.unrouted_announcements += 1
            for inst in routed:
                if self._open_windows(ann, inst, corrections):
                    touched.add(inst.symbol)
        return corrections + self._evaluate(touched, {})

    def add_prices(self, prices: pl.DataFrame) -> list[Signal]:
        """Fold a PRICE_SCHEMA batch (any order, duplicates allowed) into every open window."""
        self._stats.batches += 1
        self._stats.price_events += prices.height
        if prices.height == 0:
            return []
        parts, invalid = split_prices(prices)
        self._stats.invalid_prices += invalid
        now_s = self._clock.monotonic_s()
        touched: set[str] = set()
        for symbol, frame in parts.items():
            state = self._states.get(symbol)
            if state is None:
                self._stats.unknown_instrument += frame.height
                continue
            rows, off = observations(frame, state.calendar)
            self._stats.off_calendar_bars += off
            if len(rows) == 0:
                continue
            result = state.ingest(rows, now_s)
            self._stats.late_dropped += result.late_dropped
            self._stats.duplicate_prices += result.duplicates
            if result.min_changed_session is not None:
                self._invalidate_baselines(symbol, result.min_changed_session)
            self._tables[symbol].merge(result.rows)
            touched.add(symbol)
        return self._evaluate(touched, {})

    def on_idle(self) -> list[Signal]:
        """Finalise windows of markets that closed after their last event, once grace has passed."""
        now_s = self._clock.monotonic_s()
        return self._finalise_closed(
            s for s, st in self._states.items() if now_s - st.last_arrival_s >= self._config.grace_s
        )

    def finish(self) -> list[Signal]:
        """End of input: the grace period counts as passed for every instrument."""
        return self._finalise_closed(self._states)

    # --- windows -------------------------------------------------------------------------
    def _open_windows(self, ann: Announcement, inst: Instrument, corrections: list[Signal]) -> bool:
        cal = self._calendars[inst.symbol]
        try:
            anchor, session, at_open = cal.anchor(
                to_us(ann.published_at), day_precision=ann.published_at_precision == "day"
            )
        except CalendarError:
            self._stats.beyond_calendar += 1
            return False
        metas: list[WindowMeta] = []
        static: dict[str, list[int]] = {
            "anchor_us": [],
            "base_cut_us": [],
            "end_us": [],
            "duration_us": [],
        }
        for h in self._config.parsed_horizons:
            try:
                if h.duration_s is not None:
                    end = cal.add_trading_us(anchor, h.duration_s * _US)
                else:
                    end = cal.session_close_us(session + (h.sessions_after or 0))
            except CalendarError:
                self._stats.beyond_calendar += 1
                continue
            metas.append(
                WindowMeta(ann.id, h.name, at_open, session, cal.session_fractions(anchor, end))
            )
            static["anchor_us"].append(anchor)
            # a window that starts at an open takes the opening print; the base is before it
            static["base_cut_us"].append(anchor - 1 if at_open else anchor)
            static["end_us"].append(end)
            static["duration_us"].append(0 if h.duration_s is None else h.duration_s * _US)
        if not metas:
            return False
        table = self._tables[inst.symbol]
        anchors = table.cols["anchor_us"]
        ends = table.cols["end_us"]
        for i in np.flatnonzero((anchors <= anchor) & (ends >= anchor)).tolist():
            if table.meta[i].announcement_id != ann.id:
                table.meta[i].confounders.add(ann.id)
                table.cols["dirty"][i] = True
        corrections.extend(self._correct_retired(inst.symbol, anchor, ann.id))
        for meta, end in zip(metas, static["end_us"], strict=True):
            meta.confounders = {
                other
                for a, other in self._anchors[inst.symbol]
                if anchor <= a <= end and other != ann.id
            }
        self._anchors[inst.symbol].append((anchor, ann.id))
        positions = table.add(metas, static)
        self._stats.windows_opened += len(metas)
        # a late announcement is computed at once from the history kept so far
        history = self._states[inst.symbol].history()
        table.merge(history, only=np.asarray(positions, dtype=np.intp))
        return True

    def _correct_retired(self, symbol: str, anchor_us: int, ann_id: str) -> list[Signal]:
        out: list[Signal] = []
        retired = self._retired[symbol]
        for i, (start, end, sig) in enumerate(retired):
            if start <= anchor_us <= end and sig.announcement_id != ann_id:
                revision = sig.revision + 1
                new = sig.model_copy(
                    update={
                        "signal_id": f"{sig.announcement_id}|{symbol}|{sig.horizon}|{revision}",
                        "revision": revision,
                        "corrected": True,
                        "confounders": sorted({*sig.confounders, ann_id}),
                        "emitted_at": self._clock.now(),
                    }
                )
                retired[i] = (start, end, new)
                out.append(new)
        self._stats.signals += len(out)
        self._stats.corrections += len(out)
        return out

    def _finalise_closed(self, symbols: Iterable[str]) -> list[Signal]:
        until: dict[str, int] = {}
        tolerance_us = int(self._config.close_tolerance_s * _US)
        for symbol in symbols:
            state = self._states[symbol]
            if state.watermark_us == NO_TIME or not len(self._tables[symbol]):
                continue
            closed, next_open = state.calendar.closed_after(state.watermark_us, tolerance_us)
            if closed:
                until[symbol] = next_open
        return self._evaluate(set(until), until)

    def _evaluate(self, symbols: set[str], until: dict[str, int]) -> list[Signal]:
        signals: list[Signal] = []
        dirtied: set[str] = set()
        for symbol in self._order:
            if symbol in symbols or symbol in dirtied:
                signals.extend(self._evaluate_one(symbol, until.get(symbol), dirtied))
        return signals

    def _evaluate_one(self, symbol: str, until_us: int | None, dirtied: set[str]) -> list[Signal]:
        table = self._tables[symbol]
        if not len(table):
            return []
        state = self._states[symbol]
        c, e = table.cols, table.emitted
        wm = state.watermark_us
        started = (c["base_t"] > NO_TIME) & (c["n"] > 0)
        supported = (c["duration_us"] == 0) | (c["max_iv"] <= c["duration_us"])
        reach = c["end_us"] <= wm
        if until_us is not None:
            reach |= c["end_us"] <= until_us
        final = c["final"]
        changed = np.zeros(len(table), dtype=np.bool_)
        for name in AGGREGATES:
            changed |= c[name] != e[name]
        new_extreme = (c["hi"] > e["hi"]) | (c["lo"] < e["lo"])
        due = changed & (wm - c["e_wm"] >= int(self._config.revision_interval_s * _US))
        cand = (
            started
            & supported
            & (
                (c["rev"] == 0)
                | (~final & (reach | new_extreme | due))
                | (final & changed)
                | c["dirty"]
            )
        )
        idx = np.flatnonzero(cand)
        signals: list[Signal] = []
        if len(idx):
            signals = self._emit(symbol, table, idx, reach, dirtied)
        self._retire(symbol, table, wm)
        return signals

    def _emit(
        self,
        symbol: str,
        table: WindowTable,
        idx: np.ndarray,
        reach: np.ndarray,
        dirtied: set[str],
    ) -> list[Signal]:
        c = table.cols
        inst = self._registry.get(symbol)
        assert inst is not None
        names = (
            "anchor_us",
            "base_t",
            "base_p",
            "first_o",
            "last_t",
            "last_c",
            "hi",
            "hi_t",
            "lo",
            "lo_t",
            "max_iv",
            "rev",
            "final",
        )
        v = {n: c[n][idx].tolist() for n in names}
        reach_l = reach[idx].tolist()
        now = self._clock.now()
        signals: list[Signal] = []
        emitted: list[int] = []
        for j, i in enumerate(idx.tolist()):
            meta = table.meta[i]
            agg = Aggregates(
                v["anchor_us"][j], meta.at_open, v["base_t"][j], v["base_p"][j], v["first_o"][j],
                v["last_t"][j], v["last_c"][j], v["hi"][j], v["hi_t"][j], v["lo"][j], v["lo_t"][j],
                v["max_iv"][j],
            )  # fmt: skip
            fields = content(
                agg,
                sessions_k=meta.sessions_k,
                baseline=self._baseline(symbol, meta.anchor_session),
                benchmark_return_pct=self._benchmark_return(inst, meta),
                has_benchmark=inst.benchmark is not None,
                confounders=meta.confounders,
                config=self._config,
            )
            was_final = bool(v["final"][j])
            finalise = not was_final and bool(reach_l[j])
            if v["rev"][j] > 0 and not finalise and fields == meta.last_content:
                continue
            revision = int(v["rev"][j]) + 1
            c["rev"][i] = revision
            c["final"][i] = was_final or finalise
            meta.last_content = fields
            emitted.append(i)
            fields = {
                **fields,
                "anchor_at": from_us(fields["anchor_at"]),
                "base_at": from_us(fields["base_at"]),
                "last_at": from_us(fields["last_at"]),
                "peak_at": from_us(fields["peak_at"]),
            }
            # the values are computed here from validated inputs: skip re-validation (hot path)
            signal = Signal.model_construct(
                cursor=None,
                signal_id=f"{meta.announcement_id}|{symbol}|{meta.horizon}|{revision}",
                announcement_id=meta.announcement_id,
                instrument=symbol,
                horizon=meta.horizon,
                revision=revision,
                final=was_final or finalise,
                corrected=was_final,
                emitted_at=now,
                **fields,
            )
            meta.last_signal = signal
            signals.append(signal)
            if was_final:
                self._stats.corrections += 1
            if (was_final or finalise) and symbol in self._dependents:
                for dep in self._dependents[symbol]:
                    dep_table = self._tables[dep]
                    pos = dep_table.index.get((meta.announcement_id, meta.horizon))
                    if pos is not None:
                        dep_table.cols["dirty"][pos] = True
                        dirtied.add(dep)
        # candidates that did not change still count as seen, so they are not re-examined
        e = table.emitted
        for name in AGGREGATES:
            e[name][idx] = c[name][idx]
        c["dirty"][idx] = False
        if emitted:
            c["e_wm"][np.asarray(emitted)] = self._states[symbol].watermark_us
        self._stats.signals += len(signals)
        return signals

    def _retire(self, symbol: str, table: WindowTable, wm: int) -> None:
        """Forget final windows that no accepted tick can reach any more."""
        lateness_us = int(self._config.allowed_lateness_s * _US)
        c = table.cols
        done = c["final"] & (c["end_us"] + lateness_us < wm)
        if not done.any():
            return
        if symbol in self._dependents:
            for i in np.flatnonzero(done).tolist():
                m = table.meta[i]
                self._retired_returns[(symbol, m.announcement_id, m.horizon)] = pct(
                    float(c["last_c"][i]), float(c["base_p"][i])
                )
        for i in np.flatnonzero(done).tolist():
            last = table.meta[i].last_signal
            if last is not None:
                self._retired[symbol].append((int(c["anchor_us"][i]), int(c["end_us"][i]), last))
        self._stats.windows_retired += int(done.sum())
        table.keep(~done)

    # --- baseline and benchmark ----------------------------------------------------------
    def _baseline(self, symbol: str, session: int) -> Baseline | None:
        key = (symbol, session)
        if key not in self._baselines:
            closes = self._states[symbol].session_closes
            n = self._config.baseline_sessions
            wanted = range(session - n - 1, session)
            values = [closes[s][1] for s in wanted if s in closes]
            ok = wanted.start >= 0 and len(values) == n + 1
            self._baselines[key] = baseline_from_closes(values) if ok else None
        return self._baselines[key]

    def _invalidate_baselines(self, symbol: str, changed_session: int) -> None:
        stale = [k for k in self._baselines if k[0] == symbol and k[1] > changed_session]
        for k in stale:
            del self._baselines[k]

    def _benchmark_return(self, inst: Instrument, meta: WindowMeta) -> float | None:
        if inst.benchmark is None:
            return None
        table = self._tables[inst.benchmark]
        pos = table.index.get((meta.announcement_id, meta.horizon))
        if pos is None:
            return self._retired_returns.get((inst.benchmark, meta.announcement_id, meta.horizon))
        c = table.cols
        if c["base_t"][pos] == NO_TIME or c["n"][pos] == 0:
            return None
        return pct(float(c["last_c"][pos]), float(c["base_p"][pos]))
