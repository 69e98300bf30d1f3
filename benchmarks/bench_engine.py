"""Engine throughput and per-batch latency (prints figures; never asserts on time).

    .venv/bin/python benchmarks/bench_engine.py [--ticks 1000000]

1M ticks across the 5 default instruments (2 ticks/s each, inside XKRX sessions), 50 open
announcements routed to all of them (6 horizons each), fed in time order in batches of 2,000
and of 100. A batch's latency grows with the revisions it sends (the policy sends each open
reaction at most once per `revision_interval_s` of event time, and a 2,000-tick batch spans
about 200 s per instrument here), so signals per batch are printed beside it.
To profile: `.venv/bin/python -m cProfile -s cumtime benchmarks/bench_engine.py`.
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

from services.engine import ManualClock, ReactionEngine, load_registry
from services.frames import from_us
from services.gctune import tune_process
from services.settings import Settings

SYMBOLS = ["KOSPI", "KOSDAQ", "USDKRW", "005380.KS", "005490.KS"]
TICK_EVERY_US = 500_000


def make_prices(n_ticks: int) -> pl.DataFrame:
    cal = calendar()
    per_symbol = n_ticks // len(SYMBOLS)
    times: list[np.ndarray] = []
    left, s = per_symbol, cal.session_by_date(SESSION) - 1
    while left > 0:  # the previous session's close gives every window its base
        o, c = cal.session_open_us(s), cal.session_close_us(s)
        t = np.arange(o, c + 1, TICK_EVERY_US, dtype=np.int64)[:left]
        times.append(t)
        left -= len(t)
        s += 1
    return tick_frame(np.concatenate(times), SYMBOLS, step_pct=2e-4)


def run(
    prices: pl.DataFrame, batch: int, n_ann: int
) -> tuple[float, np.ndarray, np.ndarray, dict[str, int]]:
    """Total seconds, per-batch latencies, per-batch signal counts, final counters."""
    engine = ReactionEngine(load_registry(), clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    engine.add_announcements(announcements(n_ann, "ann", sectors=["autos", "steel"]))
    latencies = []
    signals = []
    start = time.perf_counter()
    for offset in range(0, prices.height, batch):
        chunk = prices.slice(offset, batch)
        t0 = time.perf_counter()
        signals.append(len(engine.add_prices(chunk)))
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    return total, np.asarray(latencies), np.asarray(signals), engine.counters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--announcements", type=int, default=50)
    parser.add_argument(
        "--small-batch-ticks", type=int, default=200_000, help="ticks for batch size 100"
    )
    args = parser.parse_args()
    tune_process(Settings())  # the collector and the allocator as `serve` sets them
    prices = make_prices(args.ticks)
    print(
        f"{prices.height:,} ticks, {len(SYMBOLS)} instruments, {args.announcements} announcements"
    )
    # the small-batch run takes ticks from the announcements' session, where windows are live
    cal = calendar()
    live_from = from_us(cal.session_open_us(cal.session_by_date(SESSION)) - 60_000_000)
    live = prices.filter(pl.col("ts") >= live_from)
    for batch, frame in ((2_000, prices), (100, live.head(args.small_batch_ticks))):
        n = frame.height
        total, lat, signals, counters = run(frame, batch, args.announcements)
        p50, p99 = np.percentile(lat, [50, 99]) * 1e3
        s50, s99 = np.percentile(signals, [50, 99])
        print(
            f"batch {batch:>5}: {n / total:>10,.0f} ticks/s over {n:,} ticks | per batch "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {lat.max() * 1e3:.2f} ms | "
            f"{signals.sum():,} signals ({s50:.0f} per batch p50, {s99:.0f} p99), "
            f"open windows {counters['open_windows']}"
        )


if __name__ == "__main__":
    main()
