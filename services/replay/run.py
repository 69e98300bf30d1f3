"""`market-reaction replay`: the live engine over files, for backfills and audits.

Reads announcements and prices (JSON lines in the schemas/ contracts, or CSV by extension;
"-" is stdin/stdout), feeds them to the same `ReactionEngine` in time order, and writes the
latest revision of every reaction as one JSON line each. End of input counts as no new data.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
from sqlalchemy.exc import ArgumentError

from services.engine import EngineConfig, InstrumentRegistry, ReactionEngine, load_registry
from services.engine.rows import INTERVAL_US
from services.events import Announcement, Price, ReactionId, Signal, signal_value
from services.frames import prices_frame, to_us
from services.ingest.stories import StoryBook, StoryRules, split_stories
from services.replay.exceptions import ReplayError
from services.replay.files import open_out, read_models
from services.store import open_store
from services.store.batch import StoreBatch
from services.store.exceptions import StoreError
from services.study.closes import SessionCloses


def run_replay(
    announcements: str,
    prices: str,
    out: str,
    *,
    store: str | None = None,
    progress: bool = True,
    registry: InstrumentRegistry | None = None,
    config: EngineConfig | None = None,
    chunk_rows: int = 20_000,
    stories: StoryRules | None = None,
) -> int:
    """Replay the files through the engine; returns the number of reactions written. With
    `store` (a database URL), the announcements, prices and every revision are also written to
    that store, one transaction per chunk; writes are idempotent, so a backfill can be re-run."""
    if announcements == "-" and prices == "-":
        raise ReplayError("only one of --announcements and --prices can be '-' (stdin)")
    anns = read_models(announcements, Announcement)
    price_list = read_models(prices, Price)
    registry = registry or load_registry()
    engine = ReactionEngine(registry, config)
    reporter = _Progress(len(price_list), enabled=progress)
    latest: dict[ReactionId, Signal] = {}
    backfill: list[StoreBatch] = []

    def keep(
        signals: Sequence[Signal],
        announced: Sequence[Announcement] = (),
        priced: pl.DataFrame | None = None,
    ) -> None:
        for s in signals:
            latest[s.reaction_id] = s
        if store is not None:
            backfill.append(
                StoreBatch(announced, frame.clear() if priced is None else priced, signals)
            )

    anns, echoes = split_stories(StoryBook(stories), anns)  # echoes: stored, never in the engine
    anns.sort(key=lambda a: a.published_at)
    ann_us = np.asarray([to_us(a.published_at) for a in anns], dtype=np.int64)
    frame = _time_ordered(price_list)
    obs_us = frame["_obs_us"].to_numpy()
    frame = frame.drop("_obs_us")
    if echoes:
        keep([], echoes)
    # announcements go in just before the first price observed at or after them: a window
    # ending at an announcement's time holds it as a confounder (DESIGN §4), so it must not be
    # finalised by a tick of that same instant first (that would make its final a correction)
    ann_pos = np.searchsorted(obs_us, ann_us, side="left")
    cuts = sorted({*range(0, frame.height, chunk_rows), *ann_pos.tolist(), frame.height})
    a = 0
    for start, stop in itertools.pairwise(cuts):
        b = int(np.searchsorted(ann_pos, start, side="right"))
        if b > a:
            keep(engine.add_announcements(anns[a:b]), anns[a:b])
            a = b
        if stop > start:
            chunk = frame.slice(start, stop - start)
            keep(engine.add_prices(chunk), priced=chunk)
            reporter.update(stop, len(latest))
    keep(engine.add_announcements(anns[a:]), anns[a:])
    keep(engine.finish())
    reporter.done(len(latest), engine.stats.late_dropped)
    if store is not None:
        asyncio.run(_write(store, backfill, SessionCloses(registry, config)))
    order = {h: i for i, h in enumerate(engine.config.horizons)}
    rows = sorted(
        latest.values(),
        key=lambda s: (s.anchor_at, s.announcement_id, s.instrument, order.get(s.horizon, 99)),
    )
    with open_out(out) as fh:
        for s in rows:
            fh.write(signal_value(s) + b"\n")
    return len(rows)


async def _write(url: str, batches: list[StoreBatch], closes: SessionCloses) -> None:
    try:
        target = await open_store(url)
    except (StoreError, ArgumentError, OSError) as exc:
        raise ReplayError(f"cannot open the store {url!r}: {exc}") from exc
    target.close_finder = closes  # a backfill keeps session closes for event studies too
    try:
        for batch in batches:
            await target.write_batch(batch)
    finally:
        await target.close()


def _time_ordered(prices: list[Price]) -> pl.DataFrame:
    """Prices sorted by when they are observed (a bar at its end; a daily bar after its day)."""
    frame = prices_frame(prices)
    iv = pl.col("interval").replace_strict(INTERVAL_US, default=0, return_dtype=pl.Int64)
    return frame.with_columns((pl.col("ts").dt.epoch("us") + iv).alias("_obs_us")).sort(
        "_obs_us", maintain_order=True
    )


class _Progress:
    """Progress lines on stderr, at most every two seconds, for inputs worth waiting on."""

    def __init__(self, total: int, *, enabled: bool, clock: Callable[[], float] = time.monotonic):
        self._total = total
        self._enabled = enabled and total >= 100_000
        self._clock = clock
        self._last = clock()

    def update(self, done: int, reactions: int) -> None:
        if self._enabled and self._clock() - self._last >= 2.0:
            self._last = self._clock()
            print(
                f"replay: {done:,}/{self._total:,} prices ({100 * done / self._total:.0f}%), "
                f"{reactions:,} reactions",
                file=sys.stderr,
            )

    def done(self, reactions: int, late_dropped: int) -> None:
        if self._enabled:
            print(
                f"replay: done, {self._total:,} prices, {reactions:,} reactions, "
                f"{late_dropped:,} late prices dropped",
                file=sys.stderr,
            )
