"""The live path end to end: `serve --role engine` (ingest, engine, store, publish) against the
real broker, as a separate process (prints figures; never asserts on time).

    .venv/bin/python benchmarks/bench_live.py [--ticks 2000000] [--rounds 3]
        [--rate 10000] [--seconds 60] [--latency-rounds 3]

Throughput: 50 announcements and `--ticks` ticks over 5 instruments are produced first (keyed
by instrument); each round starts a fresh engine (new consumer group, new SQLite store) and
times it from its first consumed tick to its last, read from its own /metrics.
Latency: an engine is started first; 50 announcements and then ticks are offered at `--rate`
per second for `--seconds` (event time advancing 100 ms per tick and instrument, so reactions
move), and a consumer of the signals topic (a process of its own, so that offering does not
delay its receipts) times each provisional revision from the Kafka
timestamp of the tick it reports (`last_at`) to its receipt, and each announcement to its first
signal. The engine's `mr_tick_to_signal_seconds` and `mr_announcement_to_first_signal_seconds`
histograms measure the same from the inside (quantiles interpolated within a bucket, as PromQL's
histogram_quantile does); both are printed, with their ratio and the engine's CPU seconds per
second, per round and as min / median / max over the rounds. `--rounds 0` runs the latency
part alone. The engine inherits the environment: its settings (e.g. MR_INGEST_MAX_RECORDS, a
batch's bound) can be tried that way.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import httpx
import numpy as np
import orjson
import polars as pl
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from bench_engine import SYMBOLS, make_prices  # noqa: E402
from engine_inputs import announcements as make_announcements  # noqa: E402
from peer_round import compare, peer_available, peer_round, replay_finals  # noqa: E402
from process_metrics import (  # noqa: E402
    binned,
    consumed,
    cpu_seconds,
    histogram_count,
    histogram_quantile,
    scrape,
)
from scratch_topics import run_topics  # noqa: E402
from spread import spread  # noqa: E402

from services.engine import get_calendar  # noqa: E402

BOOTSTRAP = "127.0.0.1:19092"
ANNOUNCEMENTS = 50
MURMUR2 = ("-X", "partitioner=murmur2_random")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def announcement_lines() -> list[bytes]:
    """Each with its own tariff rate: 50 stories, not one story and its echoes."""
    return [
        a.id.encode() + b"\t" + orjson.dumps(a.model_dump(mode="json") | {"tariff_rate_pct": i})
        for i, a in enumerate(make_announcements(ANNOUNCEMENTS, "ann"), 1)
    ]


def tick_lines(prices: pl.DataFrame) -> list[bytes]:
    rows = prices.select(
        "instrument", pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"), "price"
    ).iter_rows()
    return [
        i.encode() + b"\t" + orjson.dumps({"instrument": i, "ts": t, "price": p})
        for i, t, p in rows
    ]


def kcat_produce(topic: str, lines: list[bytes]) -> None:
    kcat = shutil.which("kcat")
    if kcat is None:
        raise SystemExit("kcat is needed (deploy/local/system-deps.sh installs it)")
    subprocess.run(
        # murmur2: Kafka's default partitioner, the Quix peer's, so its two inputs co-partition
        [kcat, "-P", "-b", BOOTSTRAP, "-t", topic, "-K", "\t", "-X", "linger.ms=20", *MURMUR2],
        input=b"\n".join(lines) + b"\n",
        check=True,
    )


@contextmanager
def engine_process(topics: dict[str, str], folder: Path) -> Iterator[tuple[str, int]]:
    """A `serve --role engine` of its own (group, store, port); yields its base URL and pid."""
    port, run = free_port(), uuid.uuid4().hex[:8]
    env = os.environ | {
        "MR_KAFKA_BOOTSTRAP": BOOTSTRAP,
        "MR_ANNOUNCEMENTS_TOPIC": topics["announcements"],
        "MR_PRICES_TOPIC": topics["prices"],
        "MR_SIGNALS_TOPIC": topics["signals"],
        "MR_GROUP_ID": f"bench-{run}",
        "MR_REPLICA_ID": f"bench-{run}",
        "MR_DATABASE_URL": f"sqlite+aiosqlite:///{folder / f'{run}.db'}",
        "MR_LOG_LEVEL": "WARNING",
    }
    command = [str(ROOT / ".venv/bin/market-reaction"), "serve", "--role", "engine"]
    process = subprocess.Popen([*command, "--port", str(port)], env=env, cwd=folder)
    try:
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def throughput_round(topics: dict[str, str], n: int, folder: Path) -> tuple[float, float]:
    """Ticks/s and the engine process's CPU-seconds per million ticks, both from its first
    consumed tick to its last; past a generous bound, what was consumed by then (and a note
    says so)."""
    with engine_process(topics, folder) as (base, pid):
        started = first = time.perf_counter()
        cpu_first = cpu_seconds(pid)
        count = 0.0
        while time.perf_counter() - started < 120 + n / 2_000:
            count = consumed(base, topics["prices"])
            now, cpu = time.perf_counter(), cpu_seconds(pid)
            if count == 0:
                first, cpu_first = now, cpu
            elif count >= n:
                return n / (now - first), (cpu - cpu_first) / n * 1e6
            time.sleep(0.2)
        cpu = cpu_seconds(pid)
    print(f"  (stopped waiting after {count:,.0f} of {n:,} ticks)")
    return count / (time.perf_counter() - first), (cpu - cpu_first) / max(count, 1) * 1e6


def latency_ticks(rate: int, seconds: int) -> Iterator[tuple[str, str, int]]:
    """(instrument, ts, ts µs) in offering order: event time 100 ms apart per instrument."""
    cal = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))
    opened = cal.session_open_us(cal.session_by_date(date(2025, 7, 7)))
    for i in range(rate * seconds):
        us = opened + (i // len(SYMBOLS)) * 100_000
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1_000_000))
        yield SYMBOLS[i % len(SYMBOLS)], f"{ts}.{us % 1_000_000:06d}Z", us


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(f"{base}/readyz", timeout=5)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            await asyncio.sleep(0.1)
    raise SystemExit("the engine did not get ready in 60 s")


Received = tuple[float, str, str, str, bool]
"""A signal as the outside consumer saw it: receipt (epoch s), announcement, instrument,
`last_at`, final."""


def receive_signals(
    topic: str, ready: EventType, stop: EventType, out: Queue[list[Received]]
) -> None:
    """The outside consumer, in a process of its own so that the offering loop's work does not
    delay its receipts: every signal from the end of `topic`, until `stop`, then `out`."""
    asyncio.run(_receive(topic, ready, stop, out))


async def _receive(
    topic: str, ready: EventType, stop: EventType, out: Queue[list[Received]]
) -> None:
    gc.disable()  # a measuring process: its own collector's pauses would count as latency
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="latest")
    await consumer.start()
    received: list[Received] = []
    try:
        for _ in range(600):  # holds its partitions (and their end) before the first record
            await consumer.getmany(timeout_ms=100)
            if consumer.assignment():
                ready.set()
                break
        while not stop.is_set():
            polled = await consumer.getmany(timeout_ms=50)
            now = time.time()
            for records in polled.values():
                for record in records:
                    s = orjson.loads(record.value)
                    received.append(
                        (now, s["announcement_id"], s["instrument"], s["last_at"], s["final"])
                    )
    finally:
        await consumer.stop()
        out.put(received)


async def latency_round(
    topics: dict[str, str], rate: int, seconds: int, folder: Path
) -> dict[str, float]:
    """One round's figures (ms, ticks/s, CPU s per s), printed and returned."""
    context = multiprocessing.get_context("spawn")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    with engine_process(topics, folder) as (base, pid):
        await wait_ready(base)
        sent_ms: dict[tuple[str, str], int] = {}
        announced_ms: dict[str, int] = {}
        receiver = context.Process(
            target=receive_signals, args=(topics["signals"], ready, stop, results), daemon=True
        )
        receiver.start()
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=2)
        await producer.start()
        if not await asyncio.to_thread(ready.wait, 60):
            raise SystemExit("the consumer of the signals did not get its partitions in 60 s")
        for line in announcement_lines():
            key, value = line.split(b"\t", 1)
            announced_ms[key.decode()] = ms = int(time.time() * 1000)
            await producer.send(topics["announcements"], value, key=key, timestamp_ms=ms)
        started, per_step = time.monotonic(), max(1, rate // 100)
        cpu_before = cpu_seconds(pid)
        ticks = latency_ticks(rate, seconds)
        # the offering loop stamps each tick before the producer sends it: the collector's
        # pauses over the stamps kept here (0.1-0.5 s each) would be counted as the engine's
        gc.disable()
        for step in range(rate * seconds // per_step):
            await asyncio.sleep(max(0.0, started + step * per_step / rate - time.monotonic()))
            for instrument, ts, _ in (next(ticks) for _ in range(per_step)):
                ms = int(time.time() * 1000)
                sent_ms[(instrument, ts)] = ms
                value = orjson.dumps(
                    {"instrument": instrument, "ts": ts, "price": 100.0 + step % 97}
                )
                await producer.send(
                    topics["prices"], value, key=instrument.encode(), timestamp_ms=ms
                )
        await producer.flush()
        offered_s = time.monotonic() - started
        gc.enable()
        await asyncio.sleep(3)  # the last revisions arrive
        cpu_s = cpu_seconds(pid) - cpu_before
        stop.set()
        received = await asyncio.to_thread(results.get, True, 60)
        receiver.join(timeout=30)
        await producer.stop()
        scraped = scrape(base)
    latencies: list[float] = []
    first_signal: list[float] = []
    for at_s, announcement_id, instrument, last_at, final in received:
        announced = announced_ms.pop(announcement_id, None)
        if announced is not None:
            first_signal.append(at_s - announced / 1000)
        tick_ms = sent_ms.get((instrument, last_at))
        if tick_ms is not None and not final:
            latencies.append(at_s - tick_ms / 1000)
    inside = scraped.get("mr_tick_to_signal_seconds", [])
    first_inside = scraped.get("mr_announcement_to_first_signal_seconds", [])
    writes = scraped.get("mr_store_write_seconds", [])  # one per batch: polls that had news
    written = max(histogram_count(writes), 1)
    out = np.asarray(latencies) * 1e3
    p50, p99 = np.percentile(out, [50, 99]) if len(out) else (float("nan"),) * 2
    p99_in = histogram_quantile(inside, 0.99) * 1e3
    p99_binned = histogram_quantile(binned((out / 1e3).tolist(), inside), 0.99) * 1e3
    first = np.asarray(first_signal) * 1e3
    figures = {
        "offered": rate * seconds / offered_s,
        "cpu": cpu_s / (offered_s + 3),
        "p50": p50,
        "p99": p99,
        "p99_in": p99_in,
        "ratio": p99_in / p99,
        "ratio_binned": p99_in / p99_binned,
        "counted": histogram_count(inside) / max(len(out), 1),
        "writes": histogram_count(writes) / (offered_s + 3),
        "write_ms": sum(v for _, v, n in writes if n.endswith("_sum")) * 1e3 / written,
        "first_p50": np.median(first) if len(first) else float("nan"),
        "first_p50_in": histogram_quantile(first_inside, 0.5) * 1e3,
    }
    print(
        f"latency: offered {figures['offered']:,.0f} ticks/s for {offered_s:.0f}s, engine CPU "
        f"{figures['cpu']:.2f} s/s | tick -> revision, outside ({len(out):,} revisions): "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; histogram: p99 {p99_in:.1f} ms "
        f"(histogram / outside {figures['ratio']:.2f}; / outside in its buckets "
        f"{figures['ratio_binned']:.2f}; revisions counted / received "
        f"{figures['counted']:.2f}) | {figures['writes']:.0f} batches/s, store write mean "
        f"{figures['write_ms']:.1f} ms | announcement -> first signal "
        f"({len(first)} of {ANNOUNCEMENTS}; waits for event time to reach it): median outside "
        f"{figures['first_p50']:.0f} ms, histogram {figures['first_p50_in']:.0f} ms",
        flush=True,
    )
    return figures


def throughput(args: argparse.Namespace, topics: dict[str, str], folder: Path) -> None:
    """The throughput rounds (the live path, then the Quix peer, alternated)."""
    announcements, ticks = announcement_lines(), tick_lines(make_prices(args.ticks))
    kcat_produce(topics["announcements"], announcements)
    kcat_produce(topics["prices"], ticks)
    peer = peer_available() and not args.no_peer
    rates, cpus, peer_rates = [], [], []
    for _ in range(args.rounds):  # alternated, so background load hurts both alike
        rate, cpu = throughput_round(topics, args.ticks, folder)
        rates.append(rate)
        cpus.append(cpu)
        if peer:
            rate, finals = peer_round(BOOTSTRAP, topics, args.ticks, 120 + args.ticks / 2_000)
            peer_rates.append(rate)
    print(
        f"live path (serve --role engine: ingest, engine, SQLite store, publish), "
        f"{args.ticks:,} ticks, {len(SYMBOLS)} instruments, {ANNOUNCEMENTS} announcements: "
        f"{spread(rates)} ticks/s (min / median / max of {args.rounds} rounds); "
        f"engine process CPU {spread(cpus, '.2f')} s per million ticks",
        flush=True,
    )
    if peer:
        print(
            f"Quix Streams peer (benchmarks/peers, same topics, rounds alternated): "
            f"{spread(peer_rates)} ticks/s; live path / peer (medians): "
            f"{statistics.median(rates) / statistics.median(peer_rates):.2f}x",
            flush=True,
        )
        print("  peer:", compare(finals, replay_finals(announcements, ticks)), flush=True)
    else:
        print("Quix Streams peer not run (--no-peer, or no bench extra installed)")


LATENCY_FIGURES = (
    ("offered", "offered, ticks/s", ",.0f"),
    ("cpu", "engine CPU, seconds per second", ".2f"),
    ("p50", "tick -> revision p50 outside, ms", ",.1f"),
    ("p99", "tick -> revision p99 outside, ms", ",.1f"),
    ("p99_in", "tick -> revision p99 of the histogram, ms", ",.1f"),
    ("ratio", "histogram p99 / outside p99", ".2f"),
    ("ratio_binned", "histogram p99 / outside p99 counted in the histogram's buckets", ".2f"),
    ("counted", "revisions the histogram counted / the outside consumer received", ".2f"),
    ("first_p50", "announcement -> first signal, median outside, ms", ",.0f"),
    ("first_p50_in", "announcement -> first signal, median of the histogram, ms", ",.0f"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--latency-rounds", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="the live path alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.rounds:
            with run_topics(BOOTSTRAP, uuid.uuid4().hex[:8]) as topics:
                throughput(args, topics, folder)
        rounds = []
        for _ in range(args.latency_rounds):
            with run_topics(BOOTSTRAP, uuid.uuid4().hex[:8]) as topics:
                rounds.append(asyncio.run(latency_round(topics, args.rate, args.seconds, folder)))
        if rounds:
            print(f"latency at {args.rate:,} ticks/s offered, min / median / max of {len(rounds)}:")
            for key, label, fmt in LATENCY_FIGURES:
                print(f"  {label}: {spread([r[key] for r in rounds], fmt)}")


if __name__ == "__main__":
    main()
