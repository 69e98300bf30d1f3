"""What the live path's metrics cost: engine throughput with and without them (prints figures;
never asserts on time).

    .venv/bin/python benchmarks/bench_metrics.py [--ticks 500000] [--rounds 15]

The same 2,000-tick batches as bench_engine.py go through the engine; with metrics on, each
batch is also observed as the live path observes it (`LiveMetrics.published` for its revisions
and, at most once per ENGINE_STATE_EVERY_S, `engine_state` for the engine's gauges). Rounds
alternate off/on, so background load hurts both alike. The cost is printed from CPU time (the
process's, which other processes on a loaded machine skew far less than the wall clock) per
round (min / median / max) and of the medians, as the share of a round's CPU spent inside the
metrics calls, and from the wall clock. In both arms each revision is built as a `Signal`, as
the live path's store write does before the metrics see them (the engine alone leaves them as
rows until asked); the metrics are handed the engine's revisions, as the live path does when
the store found every revision of the batch new. Each batch's instruments are given their
arrival time, as the consumer does, and the garbage collector is set as `serve` sets it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prometheus_client import CollectorRegistry, generate_latest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_engine import make_prices
from engine_inputs import announcements as make_announcements
from spread import spread

from services.engine import ManualClock, ReactionEngine, load_registry
from services.gctune import tune_collector
from services.live.metrics import LiveMetrics
from services.live.pipeline import ENGINE_STATE_EVERY_S
from services.settings import Settings

BATCH = 2_000


def run(prices: pl.DataFrame, *, metrics_on: bool) -> tuple[float, float, int, float]:
    """Wall-clock and CPU seconds (the process's, polars' threads included) for all batches
    and, with metrics, one scrape at the end; the size of that scrape (bytes); and the CPU
    seconds the main thread spent inside the metrics calls and the scrape."""
    instruments = load_registry()
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    engine = ReactionEngine(instruments, clock=clock)
    registry = CollectorRegistry()
    metrics = LiveMetrics.create(registry, (i.symbol for i in instruments), engine.config.horizons)
    engine.add_announcements(make_announcements(50, "ann"))
    start, cpu_start = time.perf_counter(), time.process_time()
    in_metrics, observed = 0.0, float("-inf")
    for offset in range(0, prices.height, BATCH):
        batch = prices.slice(offset, BATCH)
        # in both arms, as the live path does whether metrics are on or not: the consumer
        # gives each batch the Kafka time of its instruments, the store builds its revisions
        now_ms = int(time.time() * 1000)
        arrived_ms = dict.fromkeys(batch["instrument"].unique().to_list(), now_ms)
        revisions = engine.add_prices(batch)
        list(revisions)  # the store builds each revision's Signal (kept by `revisions`)
        if metrics_on:
            inside = time.thread_time()
            metrics.published(revisions, arrived_ms=arrived_ms)
            if time.monotonic() - observed >= ENGINE_STATE_EVERY_S:  # as LivePipeline does
                observed = time.monotonic()
                metrics.engine_state(engine.instrument_status(), now_s=clock.monotonic_s())
            in_metrics += time.thread_time() - inside
    scrape = b""
    if metrics_on:  # one scrape a round (Prometheus scrapes every 15 s): it counts what waits
        inside = time.thread_time()
        scrape = generate_latest(registry)
        in_metrics += time.thread_time() - inside
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return wall, cpu, len(scrape), in_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=500_000)
    # a round is about half a second: at 5, one run's median of the CPU lost spanned -3% to 7%
    # on a quiet machine; at 15, 1.8% to 2.4%
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    prices = make_prices(args.ticks)
    # the collector as `serve` sets it: at Python's default, collections the metrics' few
    # allocations happen to trigger scan the engine's state and are counted as the metrics'
    tune_collector(Settings().gc_young_threshold)
    seconds: dict[bool, list[float]] = {False: [], True: []}
    cpu_seconds: dict[bool, list[float]] = {False: [], True: []}
    lost: list[float] = []
    cpu_lost: list[float] = []
    share: list[float] = []
    scrape_bytes = 0
    for _ in range(args.rounds):  # alternated, so background load hurts both alike
        for metrics_on in (False, True):
            took, cpu, size, in_metrics = run(prices, metrics_on=metrics_on)
            if metrics_on:
                share.append(in_metrics / cpu * 100)
            seconds[metrics_on].append(took)
            cpu_seconds[metrics_on].append(cpu)
            scrape_bytes = max(scrape_bytes, size)
        lost.append((1 - seconds[False][-1] / seconds[True][-1]) * 100)
        cpu_lost.append((1 - cpu_seconds[False][-1] / cpu_seconds[True][-1]) * 100)
    off = statistics.median(args.ticks / s for s in seconds[False])
    on = statistics.median(args.ticks / s for s in seconds[True])
    cpu_off = statistics.median(cpu_seconds[False]) / args.ticks * 1e6
    cpu_on = statistics.median(cpu_seconds[True]) / args.ticks * 1e6
    print(
        f"metrics: engine CPU {cpu_off:.2f} µs per tick without, {cpu_on:.2f} µs with the live "
        f"path's metrics (medians of {args.rounds} alternating rounds, batches of {BATCH}); "
        f"CPU lost per round {spread(cpu_lost, '.1f')}% (min / median / max), "
        f"{(1 - cpu_off / cpu_on) * 100:.1f}% of the medians; time inside the metrics calls "
        f"{spread(share, '.1f')}% of a round's CPU with them; one scrape is "
        f"{scrape_bytes:,} bytes"
    )
    print(
        f"metrics: wall clock, engine {off:,.0f} ticks/s without, {on:,.0f} ticks/s with; lost "
        f"per round {spread(lost, '.1f')}% (min / median / max), {(1 - on / off) * 100:.1f}% of "
        "the medians (a loaded machine skews these most)"
    )


if __name__ == "__main__":
    main()
