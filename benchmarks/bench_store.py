"""History-query latency on a store holding 10,000 announcements x 5 instruments x 6 horizons
(x 3 revisions each), on SQLite and on PostgreSQL.

Measured through the HTTP layer in-process (FastAPI over httpx's ASGI transport: routing,
validation, the store query, polars, serialisation; no socket). Prints figures, never asserts.

    .venv/bin/python benchmarks/bench_store.py [--announcements N] [--queries N] [--backend ...]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.api.v1 import ApiLimits, create_api_app  # noqa: E402
from services.events import Announcement, Signal  # noqa: E402
from services.store import SqlStore, StoreBatch, open_store  # noqa: E402

INSTRUMENTS = ["KOSPI", "KOSDAQ", "USDKRW", "005380.KS", "005490.KS"]
HORIZONS = ["5m", "30m", "2h", "close", "close+1", "close+5"]
ACTIONS = ["impose", "raise", "lower", "pause", "delay", "exempt", "deal", "threaten"]
SECTORS = ["all", "autos", "steel", "semiconductors"]
START = datetime(2015, 1, 1, tzinfo=UTC)
PG_PORT = 15432


def announcements(n: int, rng: random.Random) -> list[Announcement]:
    return [
        Announcement(
            id=f"bench-{i:06d}",
            published_at=START + timedelta(hours=7 * i),
            targets=rng.sample(["KR", "JP", "CN", "DE"], rng.randint(1, 2)),
            sectors=[rng.choice(SECTORS)],
            action=rng.choice(ACTIONS),  # type: ignore[arg-type]
            headline=f"announcement {i}",
        )
        for i in range(n)
    ]


def signals(a: Announcement, revisions: int, rng: random.Random) -> list[Signal]:
    out = []
    anchor = a.published_at + timedelta(hours=1)
    for instrument in INSTRUMENTS:
        for horizon in HORIZONS:
            for revision in range(1, revisions + 1):
                ret = rng.gauss(0, 1)
                out.append(
                    Signal.model_construct(
                        signal_id=f"{a.id}|{instrument}|{horizon}|{revision}",
                        cursor=None,
                        announcement_id=a.id,
                        instrument=instrument,
                        horizon=horizon,
                        revision=revision,
                        final=revision == revisions,
                        corrected=False,
                        anchor_at=anchor,
                        base_price=100.0,
                        base_at=anchor - timedelta(hours=12),
                        last_price=100.0 + ret,
                        last_at=anchor + timedelta(minutes=revision),
                        return_pct=ret,
                        max_rise_pct=max(ret, 0.0),
                        max_fall_pct=min(ret, 0.0),
                        peak_at=anchor,
                        time_to_peak_s=60.0,
                        gap_pct=None,
                        baseline_mean_pct=0.0,
                        baseline_std_pct=1.0,
                        z_score=ret,
                        abnormal_return_pct=ret,
                        significant=abs(ret) >= 1.96,
                        direction="up" if ret > 0 else "down",
                        confounders=[],
                        data_granularity="1m",
                        emitted_at=anchor + timedelta(minutes=revision),
                    )
                )
    return out


async def seed(store: SqlStore, n: int, revisions: int) -> float:
    rng = random.Random(7)
    items = announcements(n, rng)
    started = time.perf_counter()
    chunk = 200
    for i in range(0, n, chunk):
        part = items[i : i + chunk]
        batch = [s for a in part for s in signals(a, revisions, rng)]
        await store.write_batch(StoreBatch(announcements=part, signals=batch))
    return time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(store: SqlStore, n: int, queries: int) -> dict[str, list[float]]:
    rng = random.Random(11)
    app = create_api_app(store, ApiLimits())
    span_h = 7 * n
    timings: dict[str, list[float]] = {"page": [], "stats": []}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for i in range(queries + 10):  # the first 10 warm up
            start = START + timedelta(hours=rng.randrange(span_h))
            page = {
                "instrument": rng.choice(INSTRUMENTS),
                "horizon": rng.choice(HORIZONS),
                "target": "KR",
                "min_abs_z": 0.5,
                "from": start.isoformat(),
                "limit": 100,
            }
            stats = {
                "group_by": rng.choice(["action", "sector", "instrument", "target"]),
                "horizon": rng.choice(HORIZONS),
            }
            for name, path, params in (
                ("page", "/v1/reactions", page),
                ("stats", "/v1/stats/reactions", stats),
            ):
                t0 = time.perf_counter()
                response = await client.get(path, params=params)
                elapsed = time.perf_counter() - t0
                response.raise_for_status()
                if i >= 10:
                    timings[name].append(elapsed * 1000)
    return timings


def pg_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", PG_PORT), timeout=1):
            return True
    except OSError:
        return False


async def fresh_pg_database(name: str) -> str:
    conn = await asyncpg.connect(
        host="127.0.0.1", port=PG_PORT, user="postgres", database="postgres"
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:{PG_PORT}/{name}"


async def run(backend: str, url: str, args: argparse.Namespace) -> None:
    async with await open_store(url) as store:
        seconds = await seed(store, args.announcements, args.revisions)
        rows = args.announcements * len(INSTRUMENTS) * len(HORIZONS)
        print(
            f"{backend}: seeded {args.announcements} announcements, {rows} reactions, "
            f"{rows * args.revisions} revisions in {seconds:.1f} s"
        )
        timings = await measure(store, args.announcements, args.queries)
        for name, target in (("filtered page", 50), ("stats", 150)):
            values = timings["page" if name == "filtered page" else "stats"]
            print(
                f"{backend}: {name:13s} p50 {percentile(values, 50):7.1f} ms  "
                f"p99 {percentile(values, 99):7.1f} ms  mean {statistics.mean(values):7.1f} ms  "
                f"(n={len(values)}, target p99 <= {target} ms)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--announcements", type=int, default=10_000)
    parser.add_argument("--revisions", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run("sqlite", f"sqlite+aiosqlite:///{tmp}/bench.db", args))
    if args.backend in ("postgresql", "both"):
        script = str(ROOT / "deploy" / "local" / "postgres.sh")
        started = not pg_answers()
        if started:
            subprocess.run(["bash", script, "up"], check=True)
        try:
            url = asyncio.run(fresh_pg_database("bench_store"))
            asyncio.run(run("postgresql", url, args))
        finally:
            if started:
                subprocess.run(["bash", script, "down"], check=True)


if __name__ == "__main__":
    main()
