"""Event-study latency: N announcements to Korea x 5 instruments of daily closes, estimation
window [-130, -11] (120 sessions), event window [-5, 20], each of the three models; in memory
(announcements and closes already in hand) and on the store (PostgreSQL, and SQLite), where a
study also reads them. N runs at 100 and 1,000 (the issue's size), 10x apart.

Prints min / median / max over --runs runs of each study; never asserts on time.

    .venv/bin/python benchmarks/bench_study.py [--events 100,1000] [--runs 5]
        [--backend memory|sqlite|postgresql|all]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_store import PG_PORT, pg_answers, pg_execute  # noqa: E402

from services.engine import load_registry  # noqa: E402
from services.engine.calendar import get_calendar  # noqa: E402
from services.events import Announcement, Price  # noqa: E402
from services.frames import from_us, prices_frame  # noqa: E402
from services.store import StoreBatch, open_store  # noqa: E402
from services.study.assemble import assemble_study  # noqa: E402
from services.study.closes import SessionCloses  # noqa: E402
from services.study.params import StudyParams  # noqa: E402
from services.study.stored import study_from_store  # noqa: E402
from tests import factories  # noqa: E402

REGISTRY = load_registry()
INSTRUMENTS = [i.symbol for i in REGISTRY]
PARAMS = {
    model: StudyParams(model=model, window=(-5, 20), estimation=(-130, -11))
    for model in ("mean", "market", "market_model")
}
# the market models need a benchmark: Hyundai Motor against the KOSPI
STUDIES = [
    ("KOSPI", "mean"),
    ("005380.KS", "mean"),
    ("005380.KS", "market"),
    ("005380.KS", "market_model"),
]
PG_DATABASE = "bench_study"


def data(events: int, rng: random.Random) -> tuple[list[Announcement], list[Price]]:
    """Daily closes of every instrument over enough sessions that each event has its 120."""
    cal = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))
    first = cal.session_by_date(date(2012, 1, 2))
    sessions = max(400, events + 200)
    days = [from_us(cal.session_close_us(first + i)).date() for i in range(sessions)]
    prices = []
    for symbol in INSTRUMENTS:
        level = 100.0
        for day in days:
            level *= 1 + rng.gauss(0.0002, 0.01)
            prices.append(
                factories.tick(symbol, datetime(day.year, day.month, day.day, 3, tzinfo=UTC), level)
            )
    anchors = sorted(rng.choices(range(140, sessions - 25), k=events))
    anns = [
        factories.announcement(
            f"bench-{i:05d}",
            datetime.combine(days[s], datetime.min.time(), UTC) + timedelta(hours=2),
            sectors=("all", "autos", "steel"),  # routed to all five instruments
            headline=f"bench announcement {i}",
        )
        for i, s in enumerate(anchors)
    ]
    return anns, prices


def report(label: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    median = statistics.median(ms)
    print(f"{label:48s} min {min(ms):7.1f}  median {median:7.1f}  max {max(ms):7.1f} ms")


async def timed(runs: int, work: Callable[[], Awaitable[object]]) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        out.append(time.perf_counter() - started)
    return out


async def in_memory(events: int, anns: list[Announcement], prices: list[Price], runs: int) -> None:
    closes = SessionCloses(REGISTRY).of_prices(prices_frame(prices))
    for symbol, model in STUDIES:
        params = PARAMS[model]

        async def one(symbol: str = symbol, params: StudyParams = params) -> object:
            return assemble_study(anns, closes, REGISTRY, symbol, params)

        result = assemble_study(anns, closes, REGISTRY, symbol, params)
        seconds = await timed(runs, one)
        label = f"memory     {events:5d} events {symbol:9s} {model:12s} n={result.n:<5d}"
        report(label, seconds)


async def on_store(
    backend: str, url: str, events: int, anns: list[Announcement], prices: list[Price], runs: int
) -> None:
    async with await open_store(url) as store:
        store.close_finder = SessionCloses(REGISTRY)
        await store.write_batch(StoreBatch(anns, prices_frame(prices)))
        if backend == "postgresql":
            await pg_execute(PG_DATABASE, "VACUUM ANALYZE")
        for symbol, model in STUDIES:
            params = PARAMS[model]

            async def one(symbol: str = symbol, params: StudyParams = params) -> object:
                return await study_from_store(store, REGISTRY, symbol, params)

            await one()  # warm the pool and the plans
            seconds = await timed(runs, one)
            report(f"{backend:10s} {events:5d} events {symbol:9s} {model:12s}", seconds)


async def fresh_pg() -> str:
    await pg_execute("postgres", f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    await pg_execute("postgres", f'CREATE DATABASE "{PG_DATABASE}"')
    return f"postgresql+asyncpg://postgres@127.0.0.1:{PG_PORT}/{PG_DATABASE}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="100,1000", help="comma-separated sizes")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--backend", choices=["memory", "sqlite", "postgresql", "all"], default="all"
    )
    args = parser.parse_args()
    print("targets: <= 100 ms in memory, <= 250 ms on the store (PostgreSQL), at 1,000 events")
    for events in (int(n) for n in args.events.split(",")):
        anns, prices = data(events, random.Random(events))
        if args.backend in ("memory", "all"):
            asyncio.run(in_memory(events, anns, prices, args.runs))
        if args.backend in ("sqlite", "all"):
            with tempfile.TemporaryDirectory() as tmp:
                asyncio.run(
                    on_store(
                        "sqlite",
                        f"sqlite+aiosqlite:///{tmp}/bench.db",
                        events,
                        anns,
                        prices,
                        args.runs,
                    )
                )
        if args.backend in ("postgresql", "all"):
            # the test set-up's server, or one of our own for the run (as bench_store does)
            script = str(ROOT / "deploy" / "local" / "postgres.sh")
            started = not pg_answers()
            if started:
                subprocess.run(["bash", script, "up"], check=True)
            try:
                url = asyncio.run(fresh_pg())
                asyncio.run(on_store("postgresql", url, events, anns, prices, args.runs))
            finally:
                if started:
                    subprocess.run(["bash", script, "down"], check=True)


if __name__ == "__main__":
    main()
