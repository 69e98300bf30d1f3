"""Revision encoding alone, against copying the same bytes: the revisions of the engine grid's
cells (bench_engine_grid.py) are made once, then each round encodes every batch's revisions to
their contract JSON (`Revisions.encoded()`, one buffer a batch) and, as the floor, copies each
batch's finished JSON once, on one thread, into memory kept from batch to batch (what a writer
on one thread must at least do: write the bytes once). Prints revisions/s and MB/s of both, and
CPU time per revision, as min / median / max over the rounds (prints figures; never asserts on
time).

    .venv/bin/python benchmarks/bench_encoding.py [--ticks 20000,100000] [--rounds 3]
        [--grid 500x1,5x1000,500x50]

The compiled writer (services/engine/native) writes a batch in one pass; where long confounder
lists outweigh the rest of a batch, it copies them into place afterwards on two threads, and so
can beat the one-thread copy. The cells cover its cases: short confounders and few windows
(500 x 1), many windows (500 x 50), confounders of about 7 KB each (5 x 1,000), at two sizes
each. CPU time counts both threads.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_engine_grid import BATCH, registry, session_ticks
from engine_inputs import announcements
from spread import spread

from services.engine import ManualClock, ReactionEngine
from services.engine.emission import Revisions


def batches(n_inst: int, n_ann: int, n_ticks: int) -> list[Revisions]:
    """Every batch's revisions of one cell, as the engine sends them."""
    reg = registry(n_inst)
    prices = session_ticks([i.symbol for i in reg], n_ticks)
    engine = ReactionEngine(reg, clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    out = [engine.add_announcements(announcements(n_ann, "grid"))]
    out += [engine.add_prices(prices.slice(at, BATCH)) for at in range(0, prices.height, BATCH)]
    return [*out, engine.finish()]


def timed(work: list[Revisions], copy: bool) -> tuple[float, float]:
    """Wall and CPU seconds to encode every batch (or to copy its encoded bytes)."""
    finished = [b.encoded().data for b in work] if copy else []
    scratch = np.empty(max((len(data) for data in finished), default=0), dtype=np.uint8)
    start, cpu = time.perf_counter(), time.process_time()
    if copy:
        for data in finished:
            scratch[: len(data)] = data
    else:
        for revisions in work:
            revisions.encoded()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", default="20000,100000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--grid", default="500x1,5x1000,500x50")
    args = parser.parse_args()
    print(f"revision encoding against one copy of its bytes, {args.rounds} rounds, min/median/max")
    for n_ticks in (int(t) for t in args.ticks.split(",")):
        for cell in args.grid.split(","):
            n_inst, n_ann = (int(x) for x in cell.split("x"))
            work = batches(n_inst, n_ann, n_ticks)
            n = sum(len(b) for b in work)
            encoded = [b.encoded() for b in work]
            size = sum(len(e.data) - max(len(e) - 1, 0) for e in encoded)  # without newlines
            del encoded
            # encoding and copying rounds alternate
            both = [(timed(work, False), timed(work, True)) for _ in range(args.rounds)]
            figures = []
            for copy in (False, True):
                rounds = [pair[copy] for pair in both]
                figures.append(
                    f"{'copy' if copy else 'encode'} {spread([n / w for w, _ in rounds])} rev/s, "
                    f"{spread([size / w / 1e6 for w, _ in rounds])} MB/s, "
                    f"{spread([c / n * 1e6 for _, c in rounds], ',.2f')} CPU-us/rev"
                )
            print(
                f"{n_ticks:>7,} ticks, {n_inst:>3} x {n_ann:>4}: {n:,} revisions of "
                f"{size / max(n, 1):,.0f} bytes | " + " | ".join(figures),
                flush=True,
            )


if __name__ == "__main__":
    main()
