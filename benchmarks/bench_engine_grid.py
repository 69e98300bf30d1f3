"""The engine alone over one session's ticks, on a grid of instruments x announcements: ticks/s,
revisions/s (each revision encoded to its JSON contract bytes by `Revisions.encoded()`, a
batch's in one buffer, no `Signal` built), revisions per tick, ticks per CPU-second and the
engine's CPU-ms per batch outside encoding (the round's CPU less the time in `encoded()`), as
min / median / max over the rounds (prints figures; never asserts on time).

    .venv/bin/python benchmarks/bench_engine_grid.py [--ticks 100000] [--rounds 3]
        [--grid 5x1,500x1,5x1000,500x50] [--published-grid 500x20,5x200]
        [--gc-young-threshold 50000]

The garbage collector and the C allocator are set as `serve` sets them (services/gctune.py,
`MR_GC_YOUNG_THRESHOLD` and `MR_MALLOC_*_THRESHOLD_BYTES`); `--gc-young-threshold 700` is
Python's default, and `MR_MALLOC_MMAP_THRESHOLD_BYTES= MR_MALLOC_TRIM_THRESHOLD_BYTES=` leave the
allocator's own.

Every instrument is a broad Korean one, so each announcement opens its 6 horizons on all of
them; announcements are spread evenly over the session and the ticks of all instruments over
the same session (plus the previous close, which gives every window its base), fed in time
order in batches of 2,000. Where revisions are few the engine's cost is its windows' upkeep;
where the policy sends several per tick it is building and encoding them. Each round starts as
a new process would: a new engine, and no confounders shared from an earlier round. The writer
uses a second thread for large batches, so "ticks per CPU-second" counts both threads.

The `--published-grid` cells feed each announcement as live does, once the ticks reach its
publication time: its windows are then filled at once from the price history kept so far, so
those cells also show what a late announcement costs (CPU-seconds per announcement).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine_inputs import SESSION, announcements, calendar, tick_frame
from spread import spread

from services.engine import ManualClock, ReactionEngine, Revisions
from services.engine.confounders import forget_shared
from services.engine.registry import Instrument, InstrumentRegistry
from services.events import Announcement
from services.gctune import tune_allocator, tune_collector
from services.settings import Settings

BATCH = 2_000


def registry(n_instruments: int) -> InstrumentRegistry:
    return InstrumentRegistry([Instrument(f"I{i:04d}", "KR", "XKRX") for i in range(n_instruments)])


def session_ticks(symbols: list[str], n_ticks: int) -> pl.DataFrame:
    """`n_ticks` over the session (one at the previous close first), in time order."""
    cal = calendar()
    s = cal.session_by_date(SESSION)
    per_symbol = max(2, n_ticks // len(symbols))
    opened, closed = cal.session_open_us(s), cal.session_close_us(s)
    ts = np.concatenate(
        [[cal.session_close_us(s - 1)], np.linspace(opened, closed, per_symbol - 1)]
    ).astype(np.int64)
    return tick_frame(ts, symbols, step_pct=5e-4)


class Encoding:
    """Revisions encoded to their contract bytes, counted, with the CPU seconds it took."""

    def __init__(self) -> None:
        self.revisions = 0
        self.cpu_s = 0.0

    def __call__(self, revisions: Revisions) -> None:
        at = time.process_time()
        self.revisions += len(revisions.encoded())
        self.cpu_s += time.process_time() - at


def one_round(
    reg: InstrumentRegistry,
    anns: list[Announcement],
    prices: pl.DataFrame,
    *,
    as_published: bool = False,
) -> tuple[float, float, int, float, float]:
    """Wall and CPU seconds for the announcements and every batch (revisions encoded),
    revisions, the CPU seconds of the announcements alone and of encoding alone. CPU time shows
    the work where other processes share the cores. The announcements come first, or
    `as_published`: each after the first batch that reaches its publication time."""
    forget_shared()  # a fresh process's engine: nothing computed by an earlier round
    engine = ReactionEngine(reg, clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    waiting = sorted(anns, key=lambda a: a.published_at) if as_published else []
    encode = Encoding()
    start, cpu_start = time.perf_counter(), time.process_time()
    ann_cpu = time.process_time()
    if not as_published:
        encode(engine.add_announcements(anns))
    ann_cpu = time.process_time() - ann_cpu
    for offset in range(0, prices.height, BATCH):
        batch = prices.slice(offset, BATCH)
        encode(engine.add_prices(batch))
        reached = batch["ts"][-1]
        due = [a for a in waiting if a.published_at <= reached]
        if due:
            waiting = waiting[len(due) :]
            at = time.process_time()
            encode(engine.add_announcements(due))
            ann_cpu += time.process_time() - at
    if waiting:
        encode(engine.add_announcements(waiting))
    encode(engine.finish())
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return wall, cpu, encode.revisions, ann_cpu, encode.cpu_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--grid", default="5x1,500x1,5x1000,500x50")
    parser.add_argument("--published-grid", default="500x20,5x200")
    parser.add_argument(
        "--gc-young-threshold",
        type=int,
        default=Settings.model_fields["gc_young_threshold"].default,
    )
    args = parser.parse_args()
    tune_collector(args.gc_young_threshold)
    settings = Settings()
    mmap_b, trim_b = settings.malloc_mmap_threshold_bytes, settings.malloc_trim_threshold_bytes
    tuned = tune_allocator(mmap_b, trim_b)
    print(
        f"engine grid: {args.ticks:,} ticks over one session per cell, batches of {BATCH:,}, "
        f"{args.rounds} rounds, min / median / max, young-generation GC every "
        f"{args.gc_young_threshold:,} allocations, "
        + (f"malloc thresholds {mmap_b:,} / {trim_b:,} bytes" if tuned else "malloc's own")
    )
    for cell in filter(None, args.grid.split(",")):
        run_cell(cell, args.ticks, args.rounds, as_published=False)
    if args.published_grid:
        print("announcements fed as published (after the first batch that reaches them):")
        for cell in args.published_grid.split(","):
            run_cell(cell, args.ticks, args.rounds, as_published=True)


def run_cell(cell: str, ticks: int, rounds: int, *, as_published: bool) -> None:
    n_inst, n_ann = (int(x) for x in cell.split("x"))
    reg = registry(n_inst)
    prices = session_ticks([i.symbol for i in reg], ticks)
    anns = announcements(n_ann, "grid")
    results = [one_round(reg, anns, prices, as_published=as_published) for _ in range(rounds)]
    revisions = results[0][2]
    ticks_s = [prices.height / wall for wall, _, _, _, _ in results]
    revs_s = [r / wall for wall, _, r, _, _ in results]
    ticks_cpu = [prices.height / cpu for _, cpu, _, _, _ in results]
    per_ann = [1000 * ann_cpu / n_ann for _, _, _, ann_cpu, _ in results]
    batches = -(-prices.height // BATCH)
    engine_ms = [1000 * (cpu - encode_cpu) / batches for _, cpu, _, _, encode_cpu in results]
    print(
        f"{n_inst:>4} instruments x {n_ann:>5} announcements: "
        f"{spread(ticks_s)} ticks/s | {spread(revs_s)} revisions/s | "
        f"{revisions:,} revisions, {revisions / prices.height:.2f} per tick | "
        f"{spread(ticks_cpu)} ticks per CPU-second | "
        f"{spread(per_ann, ',.1f')} CPU-ms per announcement | "
        f"{spread(engine_ms, ',.2f')} engine CPU-ms per batch outside encoding",
        flush=True,
    )


if __name__ == "__main__":
    main()
