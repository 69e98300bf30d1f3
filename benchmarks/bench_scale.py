"""Scale-out throughput and the engine's memory, on the generated market of the scale test
(services/demo/scale.py: 50 instruments in 5 benchmark groups, 200 announcements).

Throughput: for each size (`--tick-s`: one tick per instrument every so many seconds in KRX
hours) the announcements and prices are produced first, placed by benchmark group; then 1, 2 and 3
`serve --role engine` processes (one consumer group, a shared PostgreSQL store) are started
together and timed from the first tick consumed to every partition read to its end (rebalances
while they join included). Prints ticks/s in all and per replica, min/median/max over rounds.

Memory: one engine in this process reads the largest size; tracemalloc (numpy arrays and Python
objects; not polars' own buffers) gives bytes per instrument (history, closes) and per open
window. Also the size of a checkpoint of every instrument.

    .venv/bin/python benchmarks/bench_scale.py [--tick-s 240 60] [--replicas 1 2 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import signal
import socket
import tempfile
import time
import tracemalloc
import uuid
from asyncio.subprocess import DEVNULL, PIPE
from collections import defaultdict
from pathlib import Path

import asyncpg
import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families
from scratch_topics import delete_run_topics
from spread import spread

from services.demo.scale import ScaleScenario, generate
from services.engine import ReactionEngine, load_registry, snapshot
from services.events import Announcement, Price
from services.frames import prices_frame
from services.ingest.decode import Rejection
from services.ingest.fastprice import decode_price_rows
from services.ingest.partitioning import BenchmarkGroupPartitioner
from services.ingest.topics import ensure_topics, service_topics
from services.live.checkpoints import pack
from services.settings import Settings, process_environment

ROOT = Path(__file__).resolve().parents[1]
PG_PORT = 15432
PARTITIONS = 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def fresh_database(name: str) -> str:
    conn = await asyncpg.connect(host="127.0.0.1", port=PG_PORT, user="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:{PG_PORT}/{name}"


async def kcat(bootstrap: str, topic: str, partition: int, lines: list[bytes]) -> None:
    """`key<TAB>value` lines into one partition."""
    tool = shutil.which("kcat")
    if tool is None:
        raise SystemExit("bench_scale needs kcat (make install adds it)")
    args = ["-P", "-b", bootstrap, "-t", topic, "-p", str(partition), "-K", "\t"]
    process = await asyncio.create_subprocess_exec(tool, *args, "-X", "linger.ms=50", stdin=PIPE)
    await process.communicate(b"\n".join(lines) + b"\n")
    if process.returncode:
        raise RuntimeError(f"kcat exited with {process.returncode}")


async def produce(settings: Settings, scenario: ScaleScenario, registry_file: Path) -> None:
    placed = BenchmarkGroupPartitioner(load_registry(registry_file))
    parts: dict[int, list[bytes]] = defaultdict(list)
    for key, value in scenario.prices:
        parts[placed.partition_of(key.decode(), PARTITIONS)].append(key + b"\t" + value)
    announcements = [orjson.loads(a)["id"].encode() + b"\t" + a for a in scenario.announcements]
    await kcat(settings.kafka_bootstrap, settings.announcements_topic, 0, announcements)
    for partition, lines in parts.items():
        await kcat(settings.kafka_bootstrap, settings.prices_topic, partition, lines)


def environment(settings: Settings, name: str, port: int, registry_file: Path) -> dict[str, str]:
    return process_environment(
        settings,
        replica_id=name,
        instruments_file=registry_file,
        http_port=port,
        log_level="INFO",
    )


async def progress(http: httpx.AsyncClient, urls: list[str], topic: str) -> tuple[float, bool]:
    """Prices consumed by all replicas, and whether every partition is owned and read."""
    total, owned, behind = 0.0, 0, False
    for url in urls:
        try:
            text = (await http.get(f"{url}/metrics")).text
            ready = (await http.get(f"{url}/readyz")).json()["checks"].get(topic, {})
        except (httpx.HTTPError, ValueError):
            return total, False
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == "mr_events_consumed_total" and s.labels.get("topic") == topic:
                    total += s.value
        # a partition without a lag yet has not been fetched from: only an empty one stays so
        owned += len(ready.get("partitions", []))
        behind |= any(ready.get("lag", {}).values())
    return total, owned == PARTITIONS and not behind


async def throughput(
    bootstrap: str,
    scenario: ScaleScenario,
    registry_file: Path,
    replicas: int,
    limit_s: float,
    logs: Path,
) -> float:
    """Ticks per second of `replicas` engines reading the scenario from the start."""
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=bootstrap,
        announcements_topic=f"bench-{run}.announcements",
        prices_topic=f"bench-{run}.prices",
        signals_topic=f"bench-{run}.signals",
        group_id=f"bench-{run}",
        database_url=await fresh_database(f"bench_scale_{run}"),
        prices_partitions=PARTITIONS,
    )
    await ensure_topics(bootstrap, service_topics(settings))
    await produce(settings, scenario, registry_file)
    ports = [free_port() for _ in range(replicas)]
    processes = [
        await asyncio.create_subprocess_exec(
            str(ROOT / ".venv" / "bin" / "market-reaction"),
            "serve",
            "--role",
            "engine",
            env=environment(settings, f"bench-{run}-{n}", port, registry_file),
            stdout=DEVNULL,
            stderr=(logs / f"{run}-{n}.log").open("wb"),
        )
        for n, port in enumerate(ports)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    started = time.perf_counter()
    first: float | None = None
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            while time.perf_counter() - started < limit_s:
                consumed, done = await progress(http, urls, settings.prices_topic)
                now = time.perf_counter()
                if consumed and first is None:
                    first = now
                if done and consumed >= len(scenario.prices) and first is not None:
                    return len(scenario.prices) / (now - first)
                await asyncio.sleep(0.2)
            states = [(await http.get(f"{url}/readyz")).text for url in urls]
        # never fails on time: says where it stood and what that rate was
        print(f"  (stopped waiting at {consumed:,.0f} of {len(scenario.prices):,} consumed)")
        print(f"  readiness then: {states}\n{tails(logs, run)}")
        return consumed / (time.perf_counter() - (first or started))
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            await process.wait()
        await delete_run_topics(bootstrap, run)


def tails(logs: Path, run: str) -> str:
    """The last lines of each engine's log, without the access log of the polling."""
    out = []
    for log in sorted(logs.glob(f"{run}-*")):
        lines = [x for x in log.read_text(errors="replace").splitlines() if "HTTP/1.1" not in x]
        out += [f"--- {log.name}", *lines[-25:]]
    return "\n".join(out)


def memory(scenario: ScaleScenario, registry_file: Path) -> None:
    """Bytes per instrument and per open window, from one engine in this process."""
    registry = load_registry(registry_file)
    announcements = [Announcement.model_validate_json(a) for a in scenario.announcements]
    values = [v for _, v in scenario.prices]
    frames = [
        prices_frame(Price.model_validate_json(v) for v in values[i : i + 50_000])
        for i in range(0, len(values), 50_000)
    ]
    gc.collect()
    tracemalloc.start()
    prices_only = ReactionEngine(registry)
    base = tracemalloc.get_traced_memory()[0]
    for frame in frames:
        prices_only.add_prices(frame)
    gc.collect()
    per_instrument = (tracemalloc.get_traced_memory()[0] - base) / scenario.instruments
    engine = ReactionEngine(registry)
    base = tracemalloc.get_traced_memory()[0]
    engine.add_announcements(announcements)
    gc.collect()
    windows = engine.stats.open_windows
    per_window = (tracemalloc.get_traced_memory()[0] - base) / max(windows, 1)
    tracemalloc.stop()
    engine = prices_only
    blob = snapshot.take(engine, {i.symbol for i in registry})
    # a checkpoint also holds its partition's dedupe window: here every price, at most a window
    identities = [r for r in decode_price_rows(values) if not isinstance(r, Rejection)]
    window = identities[-Settings().dedupe_capacity :]
    with_window = len(pack(blob, tuple(window)))
    print(
        f"  memory: {per_instrument / 1024:,.0f} KiB per instrument (its history after "
        f"{scenario.ticks // scenario.instruments:,} ticks), {per_window / 1024:,.2f} KiB per "
        f"open window ({windows:,} open); a checkpoint of every instrument: "
        f"{len(blob) / 1024:,.0f} KiB ({len(blob) / scenario.instruments / 1024:,.1f} KiB each), "
        f"{with_window / 1024:,.0f} KiB with a dedupe window of {len(window):,} prices "
        f"({(with_window - len(blob)) / max(len(window), 1):,.1f} bytes per price)"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for tick_s in args.tick_s:
            scenario = generate(1, tick_s=tick_s)
            registry_file, _, _ = scenario.write(Path(tmp) / f"t{tick_s}")
            print(
                f"scale: {scenario.instruments} instruments, {len(scenario.announcements)} "
                f"announcements, {scenario.ticks:,} ticks (every {tick_s} s), {PARTITIONS} "
                f"partitions, {os.cpu_count()} cores"
            )
            for replicas in args.replicas:
                rates = [
                    await throughput(
                        args.bootstrap, scenario, registry_file, replicas, args.limit_s, Path(tmp)
                    )
                    for _ in range(args.rounds)
                ]
                per = [r / replicas for r in rates]
                print(
                    f"  {replicas} engine replica(s): {spread(rates)} ticks/s in all, "
                    f"{spread(per)} per replica (min/median/max, {args.rounds} rounds)"
                )
        memory(scenario, registry_file)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--tick-s", type=int, nargs="+", default=[240, 60])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit-s", type=float, default=600.0)
    asyncio.run(main(parser.parse_args()))
