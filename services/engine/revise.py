"""Which windows send a revision now, and the revisions themselves, for a set of instruments."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine import restore
from services.engine.book import InstrumentBook
from services.engine.codes import by_code
from services.engine.config import EngineConfig
from services.engine.confounders import confounder_caches
from services.engine.emission import Revisions, rows, same_content, sent_rows
from services.engine.encoding import RevisionColumns
from services.engine.history import NO_TIME, PriceStore
from services.engine.names import Coded, Interned
from services.engine.reaction import pct, reaction_fields
from services.engine.revisions import RevisionPolicy, due_positions, retiring
from services.engine.stats import EngineStats
from services.engine.types import Clock
from services.engine.windows import WindowMeta, WindowStore

_US = 1_000_000
Positions = npt.NDArray[np.intp]


class Reviser:
    """Evaluates windows and emits their revisions (DESIGN §4 "Revisions")."""

    def __init__(
        self,
        books: dict[str, InstrumentBook],
        store: WindowStore,
        prices: PriceStore,
        config: EngineConfig,
        clock: Clock,
        stats: EngineStats,
    ) -> None:
        self._books = books
        self._store = store
        self._prices = prices
        # instrument codes are positions in `books` (whose entries are replaced, never moved)
        self._symbols = list(books)
        self._instruments = Interned(self._symbols)  # codes are registry positions
        self._config = config
        self._clock = clock
        self._stats = stats
        self._policy = RevisionPolicy.from_config(config)
        code_of = {symbol: code for code, symbol in enumerate(self._symbols)}
        # each benchmark's dependents, by code
        self._dependents: dict[int, list[int]] = {}
        for code, book in enumerate(books.values()):
            bench = code_of.get(book.instrument.benchmark or "")
            if bench is not None:
                self._dependents.setdefault(bench, []).append(code)
        # each code's benchmark's code, -1 for none
        self._benchmark_code = np.asarray(
            [code_of.get(b.instrument.benchmark or "", -1) for b in books.values()], dtype=np.int64
        )
        # benchmarks are evaluated first so dependents see their latest return
        self._is_benchmark = np.zeros(len(books), dtype=np.bool_)
        self._is_benchmark[list(self._dependents)] = True

    def evaluate(
        self, chosen: npt.NDArray[np.bool_], until_us: npt.NDArray[np.int64] | None = None
    ) -> Revisions:
        """Revisions of the windows of the instruments `chosen` (a mask by code; and of their
        dependents) that are due; `until_us` is, per code, where a closed market's windows
        end (finalising them; NO_TIME for none)."""
        if until_us is None:
            until_us = np.full(len(chosen), NO_TIME, dtype=np.int64)
        out = Revisions()
        dirtied = np.zeros(len(chosen), dtype=np.bool_)
        benchmarks = chosen & self._is_benchmark
        if benchmarks.any():
            out.extend(self._evaluate_many(benchmarks, until_us, dirtied))
        others = (chosen | dirtied) & ~self._is_benchmark
        if others.any():
            out.extend(self._evaluate_many(others, until_us, dirtied))
        return out

    def _evaluate_many(
        self,
        chosen: npt.NDArray[np.bool_],
        until_us: npt.NDArray[np.int64],
        dirtied: npt.NDArray[np.bool_],
    ) -> Revisions:
        """Which windows of the instruments `chosen` are due, decided over the whole store at
        once (each window against its own instrument's watermark), and their revisions,
        emitted in one pass over all of them: instrument by instrument in registry order,
        each one's windows in position order."""
        cols = self._store.cols
        inst = cols["inst"]
        if cols["held"].any():
            held = np.flatnonzero(cols["held"] & cols["alive"] & chosen[inst])
            if len(held):
                self._release_caught_up(held, inst[held])
        watermark_us = self._prices.watermark_us
        closing = (until_us != NO_TIME).any()  # markets closed after their last event
        positions, finalise = due_positions(
            cols,
            chosen,
            watermark_us=watermark_us,
            until_us=until_us if closing else None,
            policy=self._policy,
        )
        out = Revisions()
        if len(positions):
            order = by_code(inst[positions])
            positions = positions[order]
            out = self._emit(positions, finalise[order], watermark_us[inst[positions]], dirtied)
        self._retire(chosen, watermark_us)
        return out

    def _release_caught_up(self, held: Positions, codes: npt.NDArray[np.int64]) -> None:
        for code, positions in _group(held, codes).items():
            book = self._books[self._symbols[code]]
            bench = book.instrument.benchmark
            restore.release_caught_up(
                book.windows,
                positions.tolist(),
                None if bench is None else self._books[bench].windows,
            )

    def _emit(
        self,
        positions: Positions,
        finalise: npt.NDArray[np.bool_],
        watermark_us: npt.NDArray[np.int64],
        dirtied: npt.NDArray[np.bool_],
    ) -> Revisions:
        """Revisions of the windows at `positions` (of any instruments; `watermark_us` is each
        one's instrument's); a final one only if its content changed."""
        store = self._store
        cols = store.cols
        codes = cols["inst"][positions]
        was_final = cols["final"][positions]
        numbers = self._reaction_columns(positions, codes)
        batch = RevisionColumns(
            Coded(self._instruments, codes),
            Coded(store.announcement_ids, cols["announcement_code"][positions]),
            Coded(store.horizons, cols["horizon_code"][positions]),
            cols["revision"][positions] + 1,
            was_final | finalise,
            was_final,
            numbers,
            confounder_caches(store, positions),
            self._clock.now(),
        )
        sent = np.ones(len(positions), dtype=np.bool_)
        again = np.flatnonzero(was_final)
        if len(again):
            # an input of a final reaction changed; a correction only if the reaction did
            previous = cols["last_sent"][positions[again]].tolist()
            for j, before, fields in zip(
                again.tolist(), previous, rows(batch.take(again)), strict=True
            ):
                sent[j] = before is None or not same_content(before, fields)
            self._stats.corrections += int(sent[again].sum())
        final = batch.final
        self._record_sent(positions, sent, final, numbers, watermark_us)
        if not sent.all():
            kept = np.flatnonzero(sent)
            positions = positions[kept]
            batch = batch.take(kept)
        # a final revision is kept: the next change of its window may be a correction
        finals = np.flatnonzero(batch.final)
        kept_rows = sent_rows(batch.take(finals))
        cols["last_sent"][positions[finals]] = np.fromiter(kept_rows, object, len(kept_rows))
        self._stats.signals += len(batch)
        if self._dependents:
            self._mark_dependents(positions[batch.final], dirtied)
        return Revisions(columns=batch)

    def _record_sent(
        self,
        positions: Positions,
        sent: npt.NDArray[np.bool_],
        final: npt.NDArray[np.bool_],
        numbers: dict[str, npt.NDArray[Any]],
        watermark_us: npt.NDArray[np.int64],
    ) -> None:
        """Remember what each sent revision said, for the next material-change test."""
        cols = self._store.cols
        cols["dirty"][positions] = False
        # nearly always every one: then each column is read whole, not copied through a mask
        which = slice(None) if sent.all() else sent
        done = positions[which]
        cols["revision"][done] += 1
        cols["held"][done] = False
        cols["final"][done] = final[which]
        cols["sent_watermark_us"][done] = watermark_us[which]
        cols["sent_return_pct"][done] = numbers["return_pct"][which]
        cols["sent_rise_pct"][done] = numbers["max_rise_pct"][which]
        cols["sent_fall_pct"][done] = numbers["max_fall_pct"][which]

    def _mark_dependents(self, finals: Positions, dirtied: npt.NDArray[np.bool_]) -> None:
        """A benchmark's final return changes its dependents' abnormal returns."""
        store = self._store
        for i, code in zip(finals.tolist(), store.cols["inst"][finals].tolist(), strict=True):
            for dependent in self._dependents.get(code, ()):
                windows = self._books[self._symbols[dependent]].windows
                meta = store.meta[i]
                pos = windows.index.get((meta.announcement_id, meta.horizon))
                if pos is not None:
                    windows.cols["dirty"][pos] = True
                    dirtied[dependent] = True

    def _retire(self, chosen: npt.NDArray[np.bool_], watermark_us: npt.NDArray[np.int64]) -> None:
        """Forget final windows (of the instruments `chosen`) that no accepted tick can reach
        any more."""
        lateness_us = int(self._config.allowed_lateness_s * _US)
        cols = self._store.cols
        done = retiring(cols, chosen, watermark_us=watermark_us, lateness_us=lateness_us)
        if not len(done):
            return
        store = self._store
        columns = (cols[name][done].tolist() for name in ("inst", "anchor_us", "end_us"))
        retired = [book.retired for book in self._books.values()]  # by code
        for code, anchor_us, end_us, sent in zip(
            *columns, cols["last_sent"][done].tolist(), strict=True
        ):
            if sent is not None:
                retired[code].append((anchor_us, end_us, sent))
        benchmarks = done[self._is_benchmark[cols["inst"][done]]]
        if len(benchmarks):
            # `pct` of each window's final close over its base, as one array operation
            final = cols["last_close"][benchmarks] / cols["base_price"][benchmarks]
            returns = ((final - 1.0) * 100.0).tolist()
            keys = store.keys(benchmarks)
            codes = cols["inst"][benchmarks].tolist()
            for code, key, final_return in zip(codes, keys, returns, strict=True):
                self._books[self._symbols[code]].retired_returns[key] = final_return
        self._stats.windows_retired += len(done)
        self._store.retire(done)

    # --- reaction numbers ----------------------------------------------------------------
    def _reaction_columns(
        self, positions: Positions, codes: npt.NDArray[np.int64]
    ) -> dict[str, npt.NDArray[Any]]:
        """Signal fields of the windows at `positions` (of instruments `codes`) as columns."""
        cols = self._store.cols
        mean, std = self._prices.baselines.columns(codes, cols["session"][positions])
        bench_code = self._benchmark_code[codes]
        benchmarked = bench_code >= 0
        bench = None
        if benchmarked.any():
            bench = np.full(len(positions), np.nan)
            for j in np.flatnonzero(benchmarked).tolist():
                meta = self._store.meta[positions[j]]
                bench[j] = self._benchmark_return(int(bench_code[j]), meta)
        return reaction_fields(
            cols,
            positions,
            baseline_mean_pct=mean,
            baseline_std_pct=std,
            benchmark_return_pct=bench,
            benchmarked=benchmarked,
            config=self._config,
        )

    def _benchmark_return(self, code: int, meta: WindowMeta) -> float:
        """The return of benchmark `code` over the window of `meta` (same announcement and
        horizon), or NaN."""
        book = self._books[self._symbols[code]]
        cols = book.windows.cols
        key = (meta.announcement_id, meta.horizon)
        pos = book.windows.index.get(key)
        if pos is None:
            return book.retired_returns.get(key, np.nan)
        if cols["base_us"][pos] != NO_TIME and cols["n_obs"][pos] > 0:
            return pct(float(cols["last_close"][pos]), float(cols["base_price"][pos]))
        return np.nan


def _group(positions: Positions, codes: npt.NDArray[np.int64]) -> dict[int, Positions]:
    """`positions` by instrument code, each group in position order."""
    if not len(positions):
        return {}
    order = by_code(codes)
    present, starts = np.unique(codes[order], return_index=True)
    return dict(zip(present.tolist(), np.split(positions[order], starts[1:]), strict=True))
