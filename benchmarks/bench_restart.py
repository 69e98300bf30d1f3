"""Restart time against retention: how long an engine replica takes from start to caught up
(ready, every partition of `market.prices` read to its end) when the topic holds 1 day or 20 days
of ticks (5 instruments, 1 tick/s each in KRX hours). Without checkpoints an engine re-reads the
whole retention on every assignment, so this grows with the days retained; with checkpoints
(`MR_CHECKPOINTS`, the default) it loads its state per partition from the store and reads only what
follows, so a restart stays flat. Prints both, and the checkpoints' size.

Run with the broker up (`make bench` starts it): .venv/bin/python benchmarks/bench_restart.py
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import socket
import statistics
import tempfile
import time
import uuid
from asyncio.subprocess import DEVNULL
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import polars as pl
from scratch_topics import delete_run_topics
from spread import spread
from sqlalchemy import func, select

from services.ingest.topics import ensure_topics, service_topics
from services.settings import Settings, process_environment
from services.store import open_store
from services.store.schema import engine_checkpoints

INSTRUMENTS = ("KOSPI", "KOSDAQ", "USDKRW", "005380.KS", "005490.KS")
SESSION_S = 6 * 3600 + 30 * 60  # 09:00-15:30 KST = 00:00-06:30 UTC
FIRST_DAY = date(2025, 6, 2)
ROOT = Path(__file__).resolve().parents[1]


def trading_days(n: int) -> list[date]:
    days: list[date] = []
    day = FIRST_DAY
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def write_ticks(days: int, path: Path) -> int:
    """`instrument<TAB>json` lines (keyed by instrument, as producers do) written to `path`,
    built as columns (millions of ticks in seconds); returns how many."""
    opens = [
        int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) for d in trading_days(days)
    ]
    second = np.tile(np.arange(SESSION_S, dtype=np.int64), len(opens))
    at_s = np.repeat(np.asarray(opens, dtype=np.int64), SESSION_S) + second
    n = len(INSTRUMENTS)
    ticks = pl.DataFrame(
        {
            "at_s": np.repeat(at_s, n),
            "k": np.tile(np.arange(n), len(at_s)),
            "second": np.repeat(second, n),
        }
    )
    instrument = pl.col("k").replace_strict(dict(enumerate(INSTRUMENTS)), return_dtype=pl.String)
    price = 1000.0 * (pl.col("k") + 1) + (pl.col("second") % 600) / 10
    line = pl.concat_str(
        instrument,
        pl.lit('\t{"instrument":"'),
        instrument,
        pl.lit('","ts":"'),
        pl.from_epoch("at_s", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        pl.lit('","price":'),
        price.cast(pl.String),
        pl.lit("}"),
    )
    ticks.select(line.alias("line")).write_csv(path, include_header=False, quote_style="never")
    return ticks.height


async def produce(bootstrap: str, topic: str, path: Path) -> None:
    kcat = shutil.which("kcat")
    if kcat is None:
        raise SystemExit("bench_restart needs kcat (make install adds it)")
    process = await asyncio.create_subprocess_exec(
        kcat, "-P", "-b", bootstrap, "-t", topic, "-K", "\t",
        "-X", "linger.ms=100", "-X", "batch.num.messages=10000", "-l", str(path),
    )  # fmt: skip
    if await process.wait():
        raise RuntimeError(f"kcat exited with {process.returncode}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(settings: Settings, port: int, checkpoints: bool) -> dict[str, str]:
    return process_environment(
        settings,
        replica_id="bench-restart",
        http_port=port,
        log_level="WARNING",
        checkpoints=checkpoints,
    )


async def caught_up(http: httpx.AsyncClient, url: str, topic: str) -> bool:
    try:
        answer = await http.get(f"{url}/readyz")
    except httpx.TransportError:
        return False
    if answer.status_code != 200:
        return False
    prices = answer.json()["checks"][topic]
    lag: dict[str, int] = prices["lag"]
    return len(lag) == len(prices["partitions"]) and not any(lag.values())


async def start_to_caught_up(settings: Settings, limit_s: float, checkpoints: bool) -> float:
    """Seconds from starting `serve --role engine` until it has read its partitions to the end;
    the replica is stopped (SIGTERM) afterwards."""
    port = free_port()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv" / "bin" / "market-reaction"),
        "serve",
        "--role",
        "engine",
        env=environment(settings, port, checkpoints),
        stdout=DEVNULL,
        stderr=DEVNULL,
    )
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            while not await caught_up(http, f"http://127.0.0.1:{port}", settings.prices_topic):
                if process.returncode is not None or time.perf_counter() - started > limit_s:
                    raise RuntimeError(f"the engine did not catch up within {limit_s:.0f}s")
                await asyncio.sleep(0.1)
        return time.perf_counter() - started
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await process.wait()


async def main(bootstrap: str, day_counts: list[int], rounds: int, limit_s: float) -> None:
    print(f"engine restart: {len(INSTRUMENTS)} instruments, 1 tick/s each in KRX hours")
    medians: dict[int, tuple[float, float]] = {}
    for days in day_counts:
        run = uuid.uuid4().hex[:8]
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                kafka_bootstrap=bootstrap,
                announcements_topic=f"bench-{run}.announcements",
                prices_topic=f"bench-{run}.prices",
                signals_topic=f"bench-{run}.signals",
                group_id=f"bench-{run}",
                database_url=f"sqlite+aiosqlite:///{tmp}/store.db",
            )
            await ensure_topics(bootstrap, service_topics(settings))
            try:
                at = time.perf_counter()
                count = write_ticks(days, Path(tmp) / "ticks.txt")
                await produce(bootstrap, settings.prices_topic, Path(tmp) / "ticks.txt")
                print(
                    f"  {days:>2} days retained ({count:,} ticks, produced in "
                    f"{time.perf_counter() - at:.0f}s):"
                )
                # without checkpoints every start re-reads the whole retention
                full = [await start_to_caught_up(settings, limit_s, False) for _ in range(rounds)]
                print(f"    no checkpoint: start to caught up {spread(full, '.1f')} s")
                first = await start_to_caught_up(settings, limit_s, True)
                restarts = [
                    await start_to_caught_up(settings, limit_s, True) for _ in range(rounds)
                ]
                print(
                    f"    checkpoints: first start (no checkpoint yet) {first:.1f}s; restart to "
                    f"caught up {spread(restarts, '.1f')} s"
                )
                sizes = await checkpoint_sizes(settings.database_url)
                print(
                    f"    checkpoint size: {sum(sizes):,} bytes in {len(sizes)} partitions "
                    f"({sum(sizes) / len(INSTRUMENTS):,.0f} bytes per instrument, dedupe window "
                    "included)"
                )
                medians[days] = (statistics.median(full), statistics.median(restarts))
            finally:
                await delete_run_topics(bootstrap, run)
    print(f"  (min/median/max over {rounds} runs) medians, start to caught up:")
    for days, (full_s, restart_s) in medians.items():
        print(f"    {days:>2} days: no checkpoint {full_s:.1f}s, checkpoint {restart_s:.1f}s")


async def checkpoint_sizes(database_url: str) -> list[int]:
    """The bytes of every checkpoint stored."""
    store = await open_store(database_url)
    try:
        async with store.engine.connect() as conn:
            rows = await conn.execute(select(func.length(engine_checkpoints.c.state)))
            return [int(size) for (size,) in rows]
    finally:
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--days", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit-s", type=float, default=1800.0, help="give up on a start after")
    args = parser.parse_args()
    asyncio.run(main(args.bootstrap, args.days, args.rounds, args.limit_s))
