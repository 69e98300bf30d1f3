"""History-query latency on a store holding 10,000 announcements x 5 instruments x 6 horizons
(x 3 revisions each), on SQLite and on PostgreSQL.

Each query is timed at two layers: the store (the calls a route makes: the query, the rows made
into events or a frame, and polars for statistics) and HTTP in-process (FastAPI over httpx's ASGI
transport: routing, validation, the store, serialisation; no socket). The seed's garbage is
collected before measuring; `--gc-freeze` then also moves every object alive at that point out of
the collector's reach, as a service would after start-up. PostgreSQL is vacuumed and analysed after
the load unless `--no-vacuum`. Prints figures, never asserts.

    .venv/bin/python benchmarks/bench_store.py [--announcements N] [--queries N] [--backend ...]
        [--gc-freeze] [--no-vacuum]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.api.v1 import ApiLimits, create_api_app  # noqa: E402
from services.events import Announcement, ReactionId, Signal  # noqa: E402
from services.store import ReactionFilter, SqlStore, StoreBatch, open_store  # noqa: E402
from services.store.analytics import reaction_stats  # noqa: E402
from services.store.filters import GroupBy  # noqa: E402

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
            action=rng.choice(ACTIONS),
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
                        signal_id=ReactionId(a.id, instrument, horizon).signal_id(revision),
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


PAGE_SIZE = 100
WARM_UP = 10
GROUP_BYS: list[GroupBy] = ["action", "sector", "instrument", "target"]


@dataclass(frozen=True, slots=True)
class Query:
    """A page of reactions (no `group_by`) or their statistics: as HTTP parameters, and as the
    store calls the route makes for them."""

    where: ReactionFilter
    group_by: GroupBy | None = None

    @property
    def path(self) -> str:
        return "/v1/reactions" if self.group_by is None else "/v1/stats/reactions"

    def params(self) -> dict[str, str | int | float]:
        w = self.where
        params: dict[str, str | int | float] = {
            name: value
            for name in ("instrument", "target", "sector", "action", "horizon", "min_abs_z")
            if (value := getattr(w, name)) is not None
        }
        if w.start is not None:
            params["from"] = w.start.isoformat()
        if w.final is not None:
            params["final"] = "true" if w.final else "false"
        if self.group_by is None:
            params["limit"] = PAGE_SIZE
        else:
            params["group_by"] = self.group_by
        return params

    async def on_store(self, store: SqlStore) -> None:
        if self.group_by is None:
            await store.list_reactions(self.where, after=None, limit=PAGE_SIZE + 1)
        else:
            values = await store.reaction_values(
                self.where, group_by=self.group_by, metric="return_pct"
            )
            reaction_stats(values)


def page(rng: random.Random, span_h: int) -> Query:
    """The issue's filtered page: one instrument and horizon, a target, |z| >= 0.5, from a time."""
    start = START + timedelta(hours=rng.randrange(span_h))
    instrument, horizon = rng.choice(INSTRUMENTS), rng.choice(HORIZONS)
    return Query(
        ReactionFilter(
            instrument=instrument, horizon=horizon, target="KR", min_abs_z=0.5, start=start
        )
    )


def mixed_page(rng: random.Random, span_h: int) -> Query:
    """Each filter present or not at random: some match many rows, some few or none."""
    choices: dict[str, list[Any]] = {
        "instrument": INSTRUMENTS,
        "horizon": HORIZONS,
        "target": ["KR", "JP", "CN", "DE"],
        "sector": SECTORS,
        "action": ACTIONS,
        "final": [True, False],
        "min_abs_z": [0.5, 2.0],
        "start": [START + timedelta(hours=h) for h in range(0, span_h, 7)],
    }
    fields = {name: rng.choice(values) for name, values in choices.items() if rng.random() < 0.4}
    return Query(ReactionFilter(**fields))


def stats(rng: random.Random) -> Query:
    """Statistics of the final reactions of one horizon (the API's default), by any grouping."""
    group_by, horizon = rng.choice(GROUP_BYS), rng.choice(HORIZONS)
    return Query(ReactionFilter(horizon=horizon, final=True), group_by)


KINDS = ("filtered page", "page, mixed filters", "stats")


def workload(n: int, queries: int) -> list[dict[str, Query]]:
    rng = random.Random(11)
    span_h = 7 * n
    return [
        {
            "filtered page": page(rng, span_h),
            "page, mixed filters": mixed_page(rng, span_h),
            "stats": stats(rng),
        }
        for _ in range(queries + WARM_UP)
    ]


async def elapsed_ms(work: Awaitable[None]) -> float:
    started = time.perf_counter()
    await work
    return (time.perf_counter() - started) * 1000


async def measure(
    store: SqlStore, n: int, queries: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(store-layer timings, HTTP-layer timings) in ms by kind: each query on the store, then
    over HTTP, so that both layers meet the same conditions."""
    on_store: dict[str, list[float]] = {kind: [] for kind in KINDS}
    on_http: dict[str, list[float]] = {kind: [] for kind in KINDS}
    app = create_api_app(store, ApiLimits())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def over_http(query: Query) -> None:
            response = await client.get(query.path, params=query.params())
            response.raise_for_status()

        for i, round_ in enumerate(workload(n, queries)):
            for kind, query in round_.items():
                store_ms = await elapsed_ms(query.on_store(store))
                http_ms = await elapsed_ms(over_http(query))
                if i >= WARM_UP:
                    on_store[kind].append(store_ms)
                    on_http[kind].append(http_ms)
    return on_store, on_http


def pg_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", PG_PORT), timeout=1):
            return True
    except OSError:
        return False


PG_DATABASE = "bench_store"


async def pg_execute(database: str, sql: str) -> None:
    conn = await asyncpg.connect(host="127.0.0.1", port=PG_PORT, user="postgres", database=database)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_pg_database(name: str) -> str:
    await pg_execute("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await pg_execute("postgres", f'CREATE DATABASE "{name}"')
    return f"postgresql+asyncpg://postgres@127.0.0.1:{PG_PORT}/{name}"


TARGETS_MS = {"filtered page": 50, "page, mixed filters": 50, "stats": 150}


async def run(backend: str, url: str, args: argparse.Namespace) -> None:
    async with await open_store(url) as store:
        seconds = await seed(store, args.announcements, args.revisions)
        rows = args.announcements * len(INSTRUMENTS) * len(HORIZONS)
        print(
            f"{backend}: seeded {args.announcements} announcements, {rows} reactions, "
            f"{rows * args.revisions} revisions in {seconds:.1f} s"
        )
        if backend == "postgresql" and not args.no_vacuum:
            # what autovacuum does within a minute of such a load; until then index-only scans
            # still read the table
            started = time.perf_counter()
            await pg_execute(PG_DATABASE, "VACUUM ANALYZE")
            print(f"{backend}: VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
        gc.collect()
        if args.gc_freeze:
            gc.freeze()
        on_store, on_http = await measure(store, args.announcements, args.queries)
        gc.unfreeze()
        columns = f"{'store p50':>9} {'p99':>7} | {'http p50':>8} {'p99':>7} {'max':>7}"
        print(f"{backend}: {f'ms, {args.queries} of each':22s} {columns}")
        for kind in KINDS:
            s, h = on_store[kind], on_http[kind]
            print(
                f"{backend}: {kind:22s} {percentile(s, 50):9.1f} {percentile(s, 99):7.1f}"
                f" | {percentile(h, 50):8.1f} {percentile(h, 99):7.1f} {max(h):7.1f}"
                f"  (target p99 <= {TARGETS_MS[kind]} ms)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--announcements", type=int, default=10_000)
    parser.add_argument("--revisions", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() before measuring, as after start-up"
    )
    parser.add_argument(
        "--no-vacuum", action="store_true", help="measure PostgreSQL right after the load"
    )
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
            url = asyncio.run(fresh_pg_database(PG_DATABASE))
            asyncio.run(run("postgresql", url, args))
        finally:
            if started:
                subprocess.run(["bash", script, "down"], check=True)


if __name__ == "__main__":
    main()
