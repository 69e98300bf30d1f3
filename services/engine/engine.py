"""ReactionEngine: announcements and price batches in, reaction signals (revisions) out.

One code path for live and replay. Event time drives everything except the grace period,
which uses the injected clock's processing time; wall time only stamps `emitted_at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from services.engine import restore
from services.engine.baselines import Baselines
from services.engine.calendar import SessionCalendar, get_calendar
from services.engine.clock import SystemClock
from services.engine.config import EngineConfig
from services.engine.exceptions import CalendarError
from services.engine.history import NO_TIME, InstrumentState
from services.engine.reaction import pct, reaction_columns
from services.engine.registry import Instrument, InstrumentRegistry
from services.engine.revisions import RevisionPolicy, due_revisions
from services.engine.rows import observations, split_prices
from services.engine.signals import construct, same_content, signal_fields
from services.engine.stats import EngineStats, InstrumentStatus
from services.engine.types import Clock
from services.engine.windows import STATIC, WindowMeta, WindowTable
from services.events import Announcement, Signal
from services.frames import to_us

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
        self._policy = RevisionPolicy.from_config(cfg)
        self._symbols = [i.symbol for i in registry]
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
        self._baselines = {
            s: Baselines(st.session_closes, cfg.baseline_sessions) for s, st in self._states.items()
        }
        self._retired_returns: dict[tuple[str, str, str], float] = {}
        # final reactions no tick can change; kept (one per window) so a late announcement
        # anchored inside them still corrects their confounders
        self._retired: dict[str, list[tuple[int, int, Signal]]] = {i.symbol: [] for i in registry}
        self._stats = EngineStats()
        # restored revisions of windows that have not opened yet (restore before any input)
        self._pending: dict[restore.ReactionKey, Signal] = {}

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

    def instrument_status(self) -> list[InstrumentStatus]:
        """Per instrument, in registry order: event time, feed activity and open windows."""
        out: list[InstrumentStatus] = []
        for symbol, state in self._states.items():
            seen = state.watermark_us != NO_TIME
            out.append(
                InstrumentStatus(
                    symbol=symbol,
                    watermark_us=state.watermark_us if seen else None,
                    last_arrival_s=state.last_arrival_s,
                    market_open=seen and state.calendar.is_open(state.watermark_us),
                    open_windows=len(self._tables[symbol]),
                    late_dropped=state.late_dropped,
                )
            )
        return out

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
        batch = split_prices(prices, self._symbols)
        self._stats.invalid_prices += batch.invalid
        self._stats.unknown_instrument += batch.unknown
        now_s = self._clock.monotonic_s()
        touched: set[str] = set()
        for symbol, columns in batch.parts.items():
            state = self._states[symbol]
            rows, off = observations(columns, state.calendar)
            self._stats.off_calendar_bars += off
            if len(rows) == 0:
                continue
            result = state.ingest(rows, now_s)
            self._stats.late_dropped += result.late_dropped
            self._stats.duplicate_prices += result.duplicates
            if result.min_changed_session is not None:
                self._baselines[symbol].invalidate_after(result.min_changed_session)
            self._tables[symbol].merge(result.rows)
            touched.add(symbol)
        return self._evaluate(touched, {})

    def restore(self, latest: Sequence[Signal]) -> None:
        """Continue from the last revision sent of each reaction (by a previous run of this
        engine over the same inputs, e.g. before a restart).

        Each reaction's window takes that revision's number, final flag and sent values, so
        replaying the inputs from the start sends nothing already sent, and the next material
        change, final or correction continues at revision + 1. A reaction whose window does not
        exist yet is applied when it opens. A revision not newer than the window's own is
        ignored, so restoring twice, or what this engine sent itself, changes nothing.
        """
        for signal in latest:
            table = self._tables.get(signal.instrument)
            if table is None:
                continue
            pos = table.index.get((signal.announcement_id, signal.horizon))
            if pos is not None:
                restore.apply(table, pos, signal)
                continue
            key = restore.reaction_key(signal)
            pending = self._pending.get(key)
            if pending is None or signal.revision > pending.revision:
                self._pending[key] = signal

    def forget(self, instruments: Iterable[str]) -> None:
        """Drop all price state of `instruments` (another replica owns them now): windows,
        history, watermark and restored revisions. Their windows are opened again, empty, for
        the announcements known so far, as if no price of theirs had been seen, so that after a
        later `restore` and a replay of their prices this engine continues where the owner
        stopped."""
        for symbol in set(instruments) & self._states.keys():
            state = InstrumentState(symbol, self._calendars[symbol], self._config)
            self._states[symbol] = state
            self._baselines[symbol] = Baselines(
                state.session_closes, self._config.baseline_sessions
            )
            self._tables[symbol] = WindowTable()
            self._anchors[symbol] = []
            self._retired[symbol] = []
            self._retired_returns = {
                k: v for k, v in self._retired_returns.items() if k[0] != symbol
            }
            self._pending = {k: v for k, v in self._pending.items() if k[1] != symbol}
            inst = self._registry.get(symbol)
            assert inst is not None
            for ann in self._announcements.values():
                if inst in self._registry.route(ann):
                    self._open_windows(ann, inst, [])

    def on_idle(self) -> list[Signal]:
        """Finalise windows of markets that closed after their last event, once grace has passed."""
        now_s = self._clock.monotonic_s()
        grace_s = self._config.grace_s
        return self._finalise_closed(
            s
            for s, st in self._states.items()
            if st.last_arrival_s is not None and now_s - st.last_arrival_s >= grace_s
        )

    def finish(self) -> list[Signal]:
        """End of input: the grace period counts as passed for every instrument."""
        return self._finalise_closed(self._states)

    # --- windows -------------------------------------------------------------------------
    def _open_windows(self, ann: Announcement, inst: Instrument, corrections: list[Signal]) -> bool:
        if any(other == ann.id for _, other in self._anchors[inst.symbol]):
            return False  # opened already (its state was restored from a snapshot)
        cal = self._calendars[inst.symbol]
        try:
            anchor, session, at_open = cal.anchor(
                to_us(ann.published_at), day_precision=ann.published_at_precision == "day"
            )
        except CalendarError:
            self._stats.beyond_calendar += 1
            return False
        metas, static = self._horizon_windows(ann.id, inst.symbol, anchor, session, at_open)
        if not metas:
            return False
        self._add_confounder(inst.symbol, anchor, ann.id)
        corrections.extend(self._correct_retired(inst.symbol, anchor, ann.id))
        self._anchors[inst.symbol].append((anchor, ann.id))
        table = self._tables[inst.symbol]
        positions = table.add(metas, static)
        self._stats.windows_opened += len(metas)
        if self._pending:
            for pos in positions:
                key = (ann.id, inst.symbol, table.meta[pos].horizon)
                restored = self._pending.pop(key, None)
                if restored is not None:
                    restore.apply(table, pos, restored)
        # a late announcement is computed at once from the history kept so far
        history = self._states[inst.symbol].history()
        table.merge(history, only=np.asarray(positions, dtype=np.intp))
        return True

    def _horizon_windows(
        self, ann_id: str, symbol: str, anchor: int, session: int, at_open: bool
    ) -> tuple[list[WindowMeta], dict[str, list[Any]]]:
        """One window per horizon that ends inside the calendar: metas and static columns."""
        cal = self._calendars[symbol]
        metas: list[WindowMeta] = []
        static: dict[str, list[Any]] = {name: [] for name in STATIC}
        for h in self._config.parsed_horizons:
            try:
                if h.duration_s is not None:
                    end = cal.add_trading_us(anchor, h.duration_s * _US)
                else:
                    end = cal.session_close_us(session + (h.sessions_after or 0))
            except CalendarError:
                self._stats.beyond_calendar += 1
                continue
            confounders = sorted(
                other
                for a, other in self._anchors[symbol]
                if anchor <= a <= end and other != ann_id
            )
            metas.append(WindowMeta(ann_id, h.name, tuple(confounders)))
            static["anchor_us"].append(anchor)
            # a window that starts at an open takes the opening print; the base is before it
            static["base_cut_us"].append(anchor - 1 if at_open else anchor)
            static["end_us"].append(end)
            static["duration_us"].append(0 if h.duration_s is None else h.duration_s * _US)
            static["at_open"].append(at_open)
            static["session"].append(session)
            static["sessions_k"].append(cal.session_fractions(anchor, end))
        return metas, static

    def _add_confounder(self, symbol: str, anchor_us: int, ann_id: str) -> None:
        """Open windows of other announcements that hold `anchor_us` gain `ann_id`."""
        table = self._tables[symbol]
        c = table.cols
        for i in np.flatnonzero((c["anchor_us"] <= anchor_us) & (c["end_us"] >= anchor_us)):
            if table.meta[i].announcement_id != ann_id:
                table.meta[i].add_confounder(ann_id)
                c["dirty"][i] = True

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

    # --- revisions -----------------------------------------------------------------------
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
        wm = self._states[symbol].watermark_us
        held = restore.held_positions(table)
        if held:
            inst = self._registry.get(symbol)
            bench = None if inst is None or inst.benchmark is None else inst.benchmark
            restore.release_caught_up(table, held, None if bench is None else self._tables[bench])
        due = due_revisions(table.cols, watermark_us=wm, until_us=until_us, policy=self._policy)
        # a restored window still catching up sends nothing but a final it reaches
        idx = np.flatnonzero(due.any & ~(table.cols["held"] & ~due.finalise))
        signals: list[Signal] = []
        if len(idx):
            signals = self._emit(symbol, table, idx, due.finalise[idx], dirtied)
        self._retire(symbol, table, wm)
        return signals

    def _emit(
        self,
        symbol: str,
        table: WindowTable,
        idx: npt.NDArray[np.intp],
        finalise: npt.NDArray[np.bool_],
        dirtied: set[str],
    ) -> list[Signal]:
        """Revisions of the windows `idx`; a final one only if its content changed."""
        metas = [table.meta[i] for i in idx.tolist()]
        numbers = self._reaction_columns(symbol, table, idx, metas)
        was_final = table.cols["final"][idx]
        final = was_final | finalise
        rows = signal_fields(numbers, self._identity(symbol, table, idx, metas, final))
        sent = np.ones(len(idx), dtype=np.bool_)
        for j in np.flatnonzero(was_final).tolist():
            previous = metas[j].last_signal
            # an input of a final reaction changed; a correction only if the reaction did
            sent[j] = previous is None or not same_content(previous, rows[j])
        signals: list[Signal] = []
        for meta, fields, send in zip(metas, rows, sent.tolist(), strict=True):
            if send:
                meta.last_signal = construct(fields)
                signals.append(meta.last_signal)
        self._stats.signals += len(signals)
        self._stats.corrections += int((sent & was_final).sum())
        self._record_sent(symbol, table, idx, sent, final, numbers)
        if symbol in self._dependents:
            self._mark_dependents(symbol, table, idx[sent & final], dirtied)
        return signals

    def _identity(
        self,
        symbol: str,
        table: WindowTable,
        idx: npt.NDArray[np.intp],
        metas: list[WindowMeta],
        final: npt.NDArray[np.bool_],
    ) -> dict[str, list[Any]]:
        """The fields that name each revision: which reaction, which revision, sent when."""
        n = len(idx)
        revisions = (table.cols["rev"][idx] + 1).tolist()
        return {
            "signal_id": [
                f"{m.announcement_id}|{symbol}|{m.horizon}|{r}"
                for m, r in zip(metas, revisions, strict=True)
            ],
            "cursor": [None] * n,
            "announcement_id": [m.announcement_id for m in metas],
            "instrument": [symbol] * n,
            "horizon": [m.horizon for m in metas],
            "revision": revisions,
            "final": final.tolist(),
            "corrected": table.cols["final"][idx].tolist(),
            "confounders": [list(m.confounders) for m in metas],
            "emitted_at": [self._clock.now()] * n,
        }

    def _record_sent(
        self,
        symbol: str,
        table: WindowTable,
        idx: npt.NDArray[np.intp],
        sent: npt.NDArray[np.bool_],
        final: npt.NDArray[np.bool_],
        columns: dict[str, npt.NDArray[Any]],
    ) -> None:
        """Remember what each sent revision said, for the next material-change test."""
        c = table.cols
        c["dirty"][idx] = False
        done = idx[sent]
        c["rev"][done] += 1
        c["held"][done] = False
        c["final"][done] = final[sent]
        c["e_wm"][done] = self._states[symbol].watermark_us
        c["e_return"][done] = columns["return_pct"][sent]
        c["e_rise"][done] = columns["max_rise_pct"][sent]
        c["e_fall"][done] = columns["max_fall_pct"][sent]

    def _mark_dependents(
        self, symbol: str, table: WindowTable, finals: npt.NDArray[np.intp], dirtied: set[str]
    ) -> None:
        """A benchmark's final return changes its dependents' abnormal returns."""
        for dep in self._dependents[symbol]:
            dep_table = self._tables[dep]
            for i in finals.tolist():
                meta = table.meta[i]
                pos = dep_table.index.get((meta.announcement_id, meta.horizon))
                if pos is not None:
                    dep_table.cols["dirty"][pos] = True
                    dirtied.add(dep)

    def _retire(self, symbol: str, table: WindowTable, wm: int) -> None:
        """Forget final windows that no accepted tick can reach any more."""
        lateness_us = int(self._config.allowed_lateness_s * _US)
        c = table.cols
        done = c["final"] & (c["end_us"] + lateness_us < wm)
        if not done.any():
            return
        for i in np.flatnonzero(done).tolist():
            meta = table.meta[i]
            if symbol in self._dependents:
                self._retired_returns[(symbol, meta.announcement_id, meta.horizon)] = pct(
                    float(c["last_c"][i]), float(c["base_p"][i])
                )
            if meta.last_signal is not None:
                self._retired[symbol].append(
                    (int(c["anchor_us"][i]), int(c["end_us"][i]), meta.last_signal)
                )
        self._stats.windows_retired += int(done.sum())
        table.keep(~done)

    # --- reaction numbers ----------------------------------------------------------------
    def _reaction_columns(
        self, symbol: str, table: WindowTable, idx: npt.NDArray[np.intp], metas: list[WindowMeta]
    ) -> dict[str, npt.NDArray[Any]]:
        """Signal fields of the windows `idx` (their `metas`) as columns."""
        mean, std = self._baselines[symbol].columns(table.cols["session"][idx])
        inst = self._registry.get(symbol)
        assert inst is not None
        bench = None if inst.benchmark is None else self._benchmark_returns(inst.benchmark, metas)
        return reaction_columns(
            table.cols,
            idx,
            baseline_mean_pct=mean,
            baseline_std_pct=std,
            benchmark_return_pct=bench,
            config=self._config,
        )

    def _benchmark_returns(
        self, benchmark: str, metas: list[WindowMeta]
    ) -> npt.NDArray[np.float64]:
        """The benchmark's return over each window (same announcement and horizon), or NaN."""
        out = np.full(len(metas), np.nan)
        table = self._tables[benchmark]
        c = table.cols
        for j, meta in enumerate(metas):
            key = (meta.announcement_id, meta.horizon)
            pos = table.index.get(key)
            if pos is None:
                out[j] = self._retired_returns.get((benchmark, *key), np.nan)
            elif c["base_t"][pos] != NO_TIME and c["n"][pos] > 0:
                out[j] = pct(float(c["last_c"][pos]), float(c["base_p"][pos]))
        return out
