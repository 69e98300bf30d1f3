"""The live path's CPU per poll, stage by stage, at the poll sizes a 10,000 ticks/s stream
makes (tens to hundreds of records) and past them: what a poll costs whatever its size is what
the latency at a modest rate pays for (prints figures; never asserts on time).

    .venv/bin/python benchmarks/bench_poll_stages.py [--polls 200] [--rounds 3]

Each poll holds ticks of 5 instruments in the producers' form, event time 100 ms apart per
instrument, as `bench_live.py` offers them. Stages, each timed in CPU time of the whole process
(polars' threads and the store's writer thread included):
- triage: the records decoded, judged and deduplicated (`triage_prices`), into a batch;
- store rows: the batch's bar and session-close rows made (`batchwrite.Rows.of`);
- store write: the batch written to a SQLite file (`SqlStore.write_batch`: its rows included).
Sizes go past `tickcolumns.SMALL_POLL` tenfold (a poll read by polars' columns instead).
Figures are min / median / max over the rounds of µs per poll and per tick.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from bench_engine import SYMBOLS  # noqa: E402
from spread import spread  # noqa: E402

from services.engine import get_calendar, load_registry  # noqa: E402
from services.gctune import tune_process  # noqa: E402
from services.ingest.plausibility import EventTimeBounds  # noqa: E402
from services.ingest.pricetriage import triage_prices  # noqa: E402
from services.ingest.recentrows import RecentRows  # noqa: E402
from services.ingest.tickcolumns import SMALL_POLL  # noqa: E402
from services.ingest.triage import BatchTriage  # noqa: E402
from services.settings import Settings  # noqa: E402
from services.store import StoreBatch, open_store  # noqa: E402
from services.store.batchwrite import Rows  # noqa: E402
from services.study.closes import SessionCloses  # noqa: E402

SIZES = (50, 200, SMALL_POLL, 10 * SMALL_POLL)


@dataclass(frozen=True, slots=True)
class Record:
    """A consumed record as triage reads it."""

    value: bytes
    offset: int
    partition: int
    timestamp: int
    topic: str = "market.prices"
    key: bytes | None = None


def polls(size: int, count: int) -> list[list[Record]]:
    cal = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))
    opened = cal.session_open_us(cal.session_by_date(date(2025, 7, 7)))
    out: list[list[Record]] = []
    for p in range(count):
        poll = []
        for j in range(size):
            i = p * size + j
            us = opened + (i // len(SYMBOLS)) * 100_000
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1_000_000))
            value = orjson.dumps(
                {"instrument": SYMBOLS[i % 5], "ts": f"{ts}.{us % 1_000_000:06d}Z", "price": 100.0}
            )
            poll.append(Record(value, i, i % 5, us // 1000))
        out.append(poll)
    return out


def cpu_us(run: Callable[[], object], times: int) -> float:
    started = time.process_time()
    for _ in range(times):
        run()
    return (time.process_time() - started) / times * 1e6


async def one_round(size: int, count: int, folder: Path) -> dict[str, float]:
    """CPU µs per poll of each stage over `count` polls of `size` ticks."""
    records = polls(size, count)
    seen = RecentRows(200_000)  # the service's defaults (services/settings.py)
    bounds = EventTimeBounds(
        max_ahead_of_watermark=timedelta(days=31), max_ahead_of_wall_clock=timedelta(days=1)
    )
    started = time.process_time()
    triaged: list[BatchTriage] = [triage_prices(poll, seen, bounds) for poll in records]
    triage_us = (time.process_time() - started) / count * 1e6
    batches = [StoreBatch(prices=t.batch.prices) for t in triaged]
    closes = SessionCloses(load_registry())
    rows_us = cpu_us(lambda: [Rows.of(b, closes) for b in batches], 1) / count
    store = await open_store(f"sqlite+aiosqlite:///{folder / f'{size}-{time.time_ns()}.db'}")
    store.close_finder = closes
    try:
        started = time.process_time()
        for batch in batches:
            await store.write_batch(batch)
        write_us = (time.process_time() - started) / count * 1e6
    finally:
        await store.close()
    return {"triage": triage_us, "store rows": rows_us, "store write": write_us}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tune_process(Settings())  # the collector and the allocator as `serve` sets them
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            count = max(3, args.polls * SIZES[0] // size)
            rounds = [asyncio.run(one_round(size, count, Path(tmp))) for _ in range(args.rounds)]
            print(f"polls of {size:,} ticks ({count} polls a round, {args.rounds} rounds):")
            for stage in rounds[0]:
                per_poll = [r[stage] for r in rounds]
                print(
                    f"  {stage}: {spread(per_poll)} CPU µs per poll, "
                    f"{spread([v / size for v in per_poll], '.2f')} per tick",
                    flush=True,
                )


if __name__ == "__main__":
    main()
