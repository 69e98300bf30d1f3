"""ReactionEngine: announcements and price batches in, reaction signals (revisions) out.

One code path for live and replay. Event time drives everything except the grace period,
which uses the injected clock's processing time; wall time only stamps `emitted_at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl

from services.engine import restore
from services.engine.batch import accept, price_batch, session_ends
from services.engine.book import InstrumentBook, WindowKey
from services.engine.calendar import SessionCalendar, get_calendar
from services.engine.clock import SystemClock
from services.engine.config import EngineConfig
from services.engine.emission import Revisions
from services.engine.fold import fold_compiled
from services.engine.history import NO_TIME, PriceStore
from services.engine.opening import WindowSpans, horizon_spans, static_columns
from services.engine.registry import Instrument, InstrumentRegistry
from services.engine.revise import Reviser
from services.engine.stats import EngineStats, InstrumentStatus
from services.engine.types import Clock
from services.engine.waiting import fold_batch
from services.engine.windows import WindowStore
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
        self._symbols = [i.symbol for i in registry]
        # one window table for all instruments; an instrument's code is its registry position
        self._store = WindowStore()
        self._calendars = [
            get_calendar(i.calendar, cfg.calendar_start, cfg.calendar_end) for i in registry
        ]
        # one price store for all instruments, by code too
        self._prices = PriceStore(self._calendars, cfg)
        # where the bases of the windows waiting for their anchor are (waiting.py)
        self._store.latest_base = (self._prices.latest_us, self._prices.latest_close)
        self._books = {
            i.symbol: InstrumentBook.empty(
                i, self._calendars[code], cfg, self._store.table(code), self._prices
            )
            for code, i in enumerate(registry)
        }
        # instruments share a few calendars: each code's among the distinct ones
        distinct = list({id(c): c for c in self._calendars}.values())
        self._distinct_calendars = distinct
        self._calendar_of = np.asarray(
            [next(g for g, c in enumerate(distinct) if c is cal) for cal in self._calendars],
            dtype=np.int64,
        )
        self._announcements: dict[str, Announcement] = {}
        self._spans_cache: dict[tuple[int, str], WindowSpans] = {}
        self._stats = EngineStats()
        self._reviser = Reviser(
            self._books, self._store, self._prices, cfg, self._clock, self._stats
        )

    # --- public API ----------------------------------------------------------------------
    @property
    def config(self) -> EngineConfig:
        return self._config

    @property
    def stats(self) -> EngineStats:
        """A snapshot of the counters."""
        self._stats.open_windows = sum(len(b.windows) for b in self._books.values())
        return EngineStats(**self._stats.as_dict())

    @property
    def counters(self) -> dict[str, int]:
        return self.stats.as_dict()

    def watermark(self, instrument: str) -> int | None:
        """The instrument's event time in µs since the epoch, or None before any data."""
        book = self._books.get(instrument)
        wm = NO_TIME if book is None else book.prices.watermark_us
        return None if wm == NO_TIME else wm

    def instrument_status(self) -> list[InstrumentStatus]:
        """Per instrument, in registry order: event time, feed activity and open windows."""
        out: list[InstrumentStatus] = []
        for symbol, book in self._books.items():
            prices = book.prices
            seen = prices.watermark_us != NO_TIME
            out.append(
                InstrumentStatus(
                    symbol=symbol,
                    watermark_us=prices.watermark_us if seen else None,
                    last_arrival_s=prices.last_arrival_s,
                    market_open=seen and book.calendar.is_open(prices.watermark_us),
                    open_windows=len(book.windows),
                    late_dropped=prices.late_dropped,
                )
            )
        return out

    def add_announcements(self, announcements: Sequence[Announcement]) -> Revisions:
        touched = np.zeros(len(self._books), dtype=np.bool_)
        corrections: list[dict[str, Any]] = []
        fresh: list[tuple[Announcement, list[Instrument]]] = []
        for ann in announcements:
            if ann.id in self._announcements:
                self._stats.duplicate_announcements += 1
                continue
            self._announcements[ann.id] = ann
            self._stats.announcements += 1
            routed = self._registry.route(ann)
            if not routed:
                self._stats.unrouted_announcements += 1
            fresh.append((ann, routed))
        touched[self._open_windows(fresh, corrections)] = True
        out = Revisions(corrections)
        out.extend(self._reviser.evaluate(touched))
        return out

    def add_prices(self, prices: pl.DataFrame) -> Revisions:
        """Fold a PRICE_SCHEMA batch (any order, duplicates allowed) into every open window."""
        self._stats.batches += 1
        self._stats.price_events += prices.height
        if prices.height == 0:
            return Revisions()
        batch = price_batch(prices, self._symbols, self._calendars)
        self._stats.invalid_prices += batch.invalid
        self._stats.unknown_instrument += batch.unknown
        self._stats.off_calendar_bars += batch.off_calendar
        observed = batch.observed
        if len(observed.codes) == 0:
            return Revisions()
        kept = self._prices
        codes = observed.codes
        present = np.zeros(len(self._books), dtype=np.bool_)
        present[codes] = True
        kept.last_arrival_s[present] = self._clock.monotonic_s()
        lateness_us = int(self._config.allowed_lateness_s * _US)
        accepted, late, duplicates = accept(observed, kept.watermark_us, lateness_us)
        self._stats.late_dropped += int(late.sum())
        self._stats.duplicate_prices += duplicates
        kept.late_dropped += late
        ends = session_ends(accepted, self._calendar_of, self._distinct_calendars)
        changed = kept.closes.record(ends.codes, ends.sessions, ends.obs_us, ends.close)
        kept.baselines.changed(ends.codes[changed], ends.sessions[changed])
        before = (kept.watermark_us.copy(), kept.latest_us.copy(), kept.latest_close.copy())
        kept.append(accepted.codes, accepted.rows)
        # the live windows of the instruments with rows in the batch, folded in one pass
        fold_batch(self._store.cols, accepted.rows, accepted.codes, kept.watermark_us, before)
        return self._reviser.evaluate(present)

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
            book = self._books.get(signal.instrument)
            if book is None:
                continue
            key = (signal.announcement_id, signal.horizon)
            pos = book.windows.index.get(key)
            if pos is not None:
                restore.apply(book.windows, pos, signal)
                continue
            pending = book.pending.get(key)
            if pending is None or signal.revision > pending.revision:
                book.pending[key] = signal

    def forget(self, instruments: Iterable[str]) -> None:
        """Drop all price state of `instruments` (another replica owns them now): windows,
        history, watermark and restored revisions. Their windows are opened again, empty, for
        the announcements known so far, as if no price of theirs had been seen, so that after a
        later `restore` and a replay of their prices this engine continues where the owner
        stopped."""
        for symbol in set(instruments) & self._books.keys():
            self._books[symbol] = self._books[symbol].emptied()
            self.reopen_windows(symbol)

    def reopen_windows(self, symbol: str) -> None:
        """Open the windows of every known announcement routed to `symbol` that has none."""
        inst = self._books[symbol].instrument
        routed = self._registry.route
        known = self._announcements.values()
        self._open_windows([(ann, [inst]) for ann in known if inst in routed(ann)], [])

    def on_idle(self) -> Revisions:
        """Finalise windows of markets that closed after their last event, once grace has passed."""
        now_s = self._clock.monotonic_s()
        grace_s = self._config.grace_s
        return self._finalise_closed(
            b
            for b in self._books.values()
            if b.prices.last_arrival_s is not None and now_s - b.prices.last_arrival_s >= grace_s
        )

    def finish(self) -> Revisions:
        """End of input: the grace period counts as passed for every instrument."""
        return self._finalise_closed(self._books.values())

    # --- windows -------------------------------------------------------------------------
    def _open_windows(
        self,
        routed: Sequence[tuple[Announcement, Iterable[Instrument]]],
        corrections: list[dict[str, Any]],
    ) -> list[int]:
        """Open the windows of each announcement on its routed instruments that have none yet,
        all in one append to the store; the codes of the instruments whose windows opened."""
        self._lay_out(routed)
        opening: list[tuple[InstrumentBook, WindowSpans]] = []
        order: list[int] = []  # of each opening, its announcement's place in `routed`
        for k, (ann, instruments) in enumerate(routed):
            for inst in instruments:
                book = self._books[inst.symbol]
                if ann.id in book.windows.anchors:
                    continue  # opened already (its state was restored from a snapshot)
                spans = self._spans_cache[id(book.calendar), ann.id]
                self._stats.beyond_calendar += spans.beyond_calendar
                if spans.horizons:
                    book.windows.anchors.add(spans.anchor_us, ann.id)
                    if book.retired:
                        corrected = book.correct_retired(spans.anchor_us, ann.id, self._clock.now())
                        self._stats.signals += len(corrected)
                        self._stats.corrections += len(corrected)
                        corrections += corrected
                    opening.append((book, spans))
                    order.append(k)
        if not opening:
            return []
        store = self._store
        opened_before = len(store.meta)
        codes = np.asarray([book.windows.code for book, _ in opening], dtype=np.int64)
        counts = [len(spans.horizons) for _, spans in opening]
        metas = [meta for _, spans in opening for meta in spans.metas]
        static = static_columns([spans for _, spans in opening])
        added = store.add(np.repeat(codes, counts), metas, static, coded=True)
        self._stats.windows_opened += len(added)
        start = added.start
        for book, spans in opening:
            stop = start + len(spans.horizons)
            self._adopt(book, range(start, stop), spans.keys)
            start = stop
        # the windows that hold a new anchor gain a confounder: those open before, and the
        # new ones final already (restored) from the announcements after theirs
        cols = store.cols
        touched = np.zeros(len(self._books), dtype=np.bool_)
        touched[codes] = True
        open_before = cols["alive"][:opened_before] & touched[cols["inst"][:opened_before]]
        before = np.flatnonzero(open_before)
        restored = opened_before + np.flatnonzero(cols["final"][opened_before:])
        store.add_anchors(
            codes,
            np.asarray([spans.anchor_us for _, spans in opening], dtype=np.int64),
            np.asarray(order, dtype=np.int64),
            np.concatenate((before, restored)),
            np.concatenate(
                (np.full(len(before), -1), np.repeat(order, counts)[restored - opened_before])
            ),
        )
        # a late announcement's windows, filled at once from the history kept so far
        windows = np.arange(added.start, added.stop, dtype=np.intp)
        window_codes = cols["inst"][windows]
        seen = self._prices.watermark_us[window_codes] != NO_TIME
        if seen.any():
            wanted = np.zeros(len(self._books), dtype=np.bool_)
            wanted[window_codes[seen]] = True
            fold_compiled(cols, windows[seen], *self._prices.histories(wanted))
        return [book.windows.code for book, _ in opening]

    def _adopt(self, book: InstrumentBook, added: range, keys: tuple[WindowKey, ...]) -> None:
        """Index an instrument's new windows (at `added`, with `keys`) and apply what was
        restored for them."""
        table = book.windows
        table.index.update(zip(keys, added, strict=True))
        table.moved()
        if book.pending:
            for pos, key in zip(added, keys, strict=True):
                restored = book.pending.pop(key, None)
                if restored is not None:
                    restore.apply(table, pos, restored)

    def _lay_out(self, routed: Sequence[tuple[Announcement, Iterable[Instrument]]]) -> None:
        """Lay out the windows of the announcements in `routed` on the calendars of their
        instruments where not done yet: each calendar's at once (opening.py)."""
        missing: dict[int, dict[str, Announcement]] = {}
        calendars: dict[int, SessionCalendar] = {}
        cache = self._spans_cache
        for ann, instruments in routed:
            for inst in instruments:
                cal = self._books[inst.symbol].calendar
                if (id(cal), ann.id) not in cache:
                    calendars[id(cal)] = cal
                    missing.setdefault(id(cal), {})[ann.id] = ann
        horizons = self._config.parsed_horizons
        for key, anns in missing.items():
            laid_out = horizon_spans(calendars[key], list(anns.values()), horizons, self._store)
            cache.update(zip(((key, a) for a in anns), laid_out, strict=True))

    def _finalise_closed(self, books: Iterable[InstrumentBook]) -> Revisions:
        n_codes = len(self._books)
        chosen = np.zeros(n_codes, dtype=np.bool_)
        until_us = np.full(n_codes, NO_TIME, dtype=np.int64)  # NO_TIME: no window ends there
        tolerance_us = int(self._config.close_tolerance_s * _US)
        for book in books:
            wm = book.prices.watermark_us
            if wm == NO_TIME or not len(book.windows):
                continue
            closed, next_open = book.calendar.closed_after(wm, tolerance_us)
            if closed:
                chosen[book.windows.code] = True
                until_us[book.windows.code] = next_open
        return self._reviser.evaluate(chosen, until_us)
