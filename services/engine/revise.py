"""Which windows send a revision now, and the revisions themselves, for a set of instruments."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine import restore
from services.engine.book import InstrumentBook
from services.engine.config import EngineConfig
from services.engine.confounders import confounder_caches
from services.engine.emission import Revisions, rows, same_content
from services.engine.encoding import RevisionColumns
from services.engine.history import NO_TIME
from services.engine.reaction import pct, reaction_columns
from services.engine.revisions import RevisionPolicy, due_revisions
from services.engine.stats import EngineStats
from services.engine.types import Clock
from services.engine.windows import WindowMeta

_US = 1_000_000
Positions = npt.NDArray[np.intp]


class Reviser:
    """Evaluates windows and emits their revisions (DESIGN §4 "Revisions")."""

    def __init__(
        self,
        books: dict[str, InstrumentBook],
        config: EngineConfig,
        clock: Clock,
        stats: EngineStats,
    ) -> None:
        self._books = books
        self._config = config
        self._clock = clock
        self._stats = stats
        self._policy = RevisionPolicy.from_config(config)
        self._dependents: dict[str, list[str]] = {}
        for book in books.values():
            if book.instrument.benchmark is not None:
                self._dependents.setdefault(book.instrument.benchmark, []).append(book.symbol)
        # benchmarks are evaluated first so dependents see their latest return
        self._order = sorted(books, key=lambda s: s not in self._dependents)

    def evaluate(self, symbols: set[str], until: dict[str, int]) -> Revisions:
        """Revisions of the windows of `symbols` (and of their dependents) that are due; `until`
        is, per instrument, where a closed market's windows end (finalising them)."""
        out = Revisions()
        dirtied: set[str] = set()
        for symbol in self._order:
            if symbol in symbols or symbol in dirtied:
                out.extend(self._evaluate_one(self._books[symbol], until.get(symbol), dirtied))
        return out

    def _evaluate_one(
        self, book: InstrumentBook, until_us: int | None, dirtied: set[str]
    ) -> Revisions:
        table = book.windows
        if not len(table):
            return Revisions()
        watermark_us = book.prices.watermark_us
        held = restore.held_positions(table)
        if held:
            benchmark = book.instrument.benchmark
            restore.release_caught_up(
                table, held, None if benchmark is None else self._books[benchmark].windows
            )
        cols = table.cols
        due = due_revisions(cols, watermark_us=watermark_us, until_us=until_us, policy=self._policy)
        # a restored window still catching up sends nothing but a final it reaches
        positions = np.flatnonzero(due.any & ~(cols["held"] & ~due.finalise))
        out = Revisions()
        if len(positions):
            out = self._emit(book, positions, due.finalise[positions], dirtied)
        self._retire(book, watermark_us)
        return out

    def _emit(
        self,
        book: InstrumentBook,
        positions: Positions,
        finalise: npt.NDArray[np.bool_],
        dirtied: set[str],
    ) -> Revisions:
        """Revisions of the windows at `positions`; a final one only if its content changed."""
        table = book.windows
        metas = [table.meta[i] for i in positions.tolist()]
        was_final = table.cols["final"][positions]
        numbers = self._reaction_columns(book, positions, metas)
        batch = RevisionColumns(
            book.symbol,
            [m.announcement_id for m in metas],
            [m.horizon for m in metas],
            table.cols["revision"][positions] + 1,
            was_final | finalise,
            was_final,
            numbers,
            confounder_caches(table, positions, metas),
            self._clock.now(),
        )
        sent = np.ones(len(positions), dtype=np.bool_)
        again = np.flatnonzero(was_final)
        if len(again):
            # an input of a final reaction changed; a correction only if the reaction did
            for j, fields in zip(again.tolist(), rows(batch.take(again)), strict=True):
                previous = metas[j].last_sent
                sent[j] = previous is None or not same_content(previous, fields)
            self._stats.corrections += int(sent[again].sum())
        final = batch.final
        self._record_sent(book, positions, sent, final, numbers)
        if not sent.all():
            kept = np.flatnonzero(sent)
            positions, metas = positions[kept], [metas[j] for j in kept.tolist()]
            batch = batch.take(kept)
        # a final revision is kept: the next change of its window may be a correction
        finals = np.flatnonzero(batch.final)
        for j, fields in zip(finals.tolist(), rows(batch.take(finals)), strict=True):
            metas[j].last_sent = fields
        self._stats.signals += len(batch)
        if book.symbol in self._dependents:
            self._mark_dependents(book, positions[batch.final], dirtied)
        return Revisions(columns=batch)

    def _record_sent(
        self,
        book: InstrumentBook,
        positions: Positions,
        sent: npt.NDArray[np.bool_],
        final: npt.NDArray[np.bool_],
        numbers: dict[str, npt.NDArray[Any]],
    ) -> None:
        """Remember what each sent revision said, for the next material-change test."""
        cols = book.windows.cols
        cols["dirty"][positions] = False
        done = positions[sent]
        cols["revision"][done] += 1
        cols["held"][done] = False
        cols["final"][done] = final[sent]
        cols["sent_watermark_us"][done] = book.prices.watermark_us
        cols["sent_return_pct"][done] = numbers["return_pct"][sent]
        cols["sent_rise_pct"][done] = numbers["max_rise_pct"][sent]
        cols["sent_fall_pct"][done] = numbers["max_fall_pct"][sent]

    def _mark_dependents(self, book: InstrumentBook, finals: Positions, dirtied: set[str]) -> None:
        """A benchmark's final return changes its dependents' abnormal returns."""
        for dependent in self._dependents[book.symbol]:
            windows = self._books[dependent].windows
            for i in finals.tolist():
                meta = book.windows.meta[i]
                pos = windows.index.get((meta.announcement_id, meta.horizon))
                if pos is not None:
                    windows.cols["dirty"][pos] = True
                    dirtied.add(dependent)

    def _retire(self, book: InstrumentBook, watermark_us: int) -> None:
        """Forget final windows that no accepted tick can reach any more."""
        lateness_us = int(self._config.allowed_lateness_s * _US)
        table = book.windows
        cols = table.cols
        done = np.flatnonzero(
            cols["alive"] & cols["final"] & (cols["end_us"] + lateness_us < watermark_us)
        )
        if not len(done):
            return
        is_benchmark = book.symbol in self._dependents
        for i in done.tolist():
            meta = table.meta[i]
            if is_benchmark:
                book.retired_returns[(meta.announcement_id, meta.horizon)] = pct(
                    float(cols["last_close"][i]), float(cols["base_price"][i])
                )
            if meta.last_sent is not None:
                span = (int(cols["anchor_us"][i]), int(cols["end_us"][i]))
                book.retired.append((*span, meta.last_sent))
        self._stats.windows_retired += len(done)
        table.retire(done)

    # --- reaction numbers ----------------------------------------------------------------
    def _reaction_columns(
        self, book: InstrumentBook, positions: Positions, metas: list[WindowMeta]
    ) -> dict[str, npt.NDArray[Any]]:
        """Signal fields of the windows at `positions` (their `metas`) as columns."""
        cols = book.windows.cols
        mean, std = book.baselines.columns(cols["session"][positions])
        benchmark = book.instrument.benchmark
        bench = None if benchmark is None else self._benchmark_returns(benchmark, metas)
        return reaction_columns(
            cols,
            positions,
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
        book = self._books[benchmark]
        cols = book.windows.cols
        for j, meta in enumerate(metas):
            key = (meta.announcement_id, meta.horizon)
            pos = book.windows.index.get(key)
            if pos is None:
                out[j] = book.retired_returns.get(key, np.nan)
            elif cols["base_us"][pos] != NO_TIME and cols["n_obs"][pos] > 0:
                out[j] = pct(float(cols["last_close"][pos]), float(cols["base_price"][pos]))
        return out
