"""Webhook alerts: matching revisions to 10 subscriptions, end to end, on SQLite and PostgreSQL.

Revisions are written through the store (each batch queues its alerts in the same transaction),
the dispatcher delivers them to a fast receiver in its own uvicorn process (uvloop, httptools,
answers 204). Every run starts from a fresh store (a SQLite file; a new PostgreSQL database,
the server started with deploy/local/postgres.sh if none answers). Prints figures against the
issue's target (>= 2,000 deliveries/s, p99 <= 250 ms), never asserts on time.

    .venv/bin/python benchmarks/bench_alerts.py [--sizes 1000,10000] [--subscriptions 10]
        [--runs 3] [--rates 200,400] [--paced 2000,10000] [--backend sqlite|postgresql|both]

Phases per store: `burst` at each of `--sizes` writes every revision at once, 500 per store
batch (5 revisions per reaction, in order), and times until the outbox is empty: deliveries/s;
its latency is mostly queueing. `paced` emits each of `--paced` revisions at each of `--rates`
revisions/s (x 10 subscriptions: 2,000 and 4,000 deliveries/s offered): revision i is due at
i / rate s, and each store write (one every 20 ms at most) takes every revision due by then,
so however long a write takes the offered rate is the asked one (`revisions written/s` shows
it): latency at a steady load (revision emitted, i.e. its due time, to the receiver's 2xx as
the dispatcher records it), the wait for a write included; its deliveries/s is what was
delivered until the outbox was empty. 10,000 revisions are ten times what a subscription's
queue holds in memory (64 x 16 rows, twice that offered by the writes). Each figure: min /
median / max over `--runs` runs, with the CPU this process spent per delivery (the revision
writes and the dispatcher: the receiver runs in its own process), the 1-minute load average at
the end of each run, and the mean time of the dispatcher's outcome transactions. The process's
collector is set as `serve` sets it (services/gctune.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from delivery import SAMPLE, listen_and_tell, quantile, server_process
from prometheus_client import CollectorRegistry
from spread import spread
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from services.alerts.delivery import DeliveryPolicy
from services.alerts.dispatcher import Dispatcher, alert_client
from services.alerts.filters import AlertFilter
from services.alerts.metrics import AlertMetrics
from services.alerts.signing import new_secret
from services.alerts.types import StoredSubscription
from services.events import Signal
from services.gctune import tune_collector
from services.settings import Settings
from services.store import SqlStore, StoreBatch, open_store
from services.store.alert_outbox import alert_outbox
from services.store.connect import create_engine

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:15432/postgres"

REVISIONS_PER_REACTION = 5
BURST_BATCH = 500
PACED_WRITE_EVERY_S = 0.02
"""Paced: a store write every 20 ms at most (a transaction per revision as each falls due
spent more CPU on transactions than on deliveries)."""
DRAIN_TIMEOUT_S = 900.0
TARGET_PER_S = 2_000
TARGET_P99_MS = 250
# -- the receiver process --------------------------------------------------------------------


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def serve_receiver() -> None:
    sock = listen_and_tell()
    config = uvicorn.Config(receiver_app, log_level="warning", access_log=False)
    uvloop.run(uvicorn.Server(config).serve(sockets=[sock]))


# -- the bench -------------------------------------------------------------------------------


@dataclass
class Figures:
    deliveries: int
    seconds: float
    latencies_s: list[float]
    cpu_s: float
    """This process's CPU time over the run (the revision writes and the dispatcher)."""
    load: float
    """The 1-minute load average at the end of the run."""
    written_per_s: float
    """Revisions/s the writes kept (paced: the offered rate)."""
    outcome_write_s: float
    """The mean time of the dispatcher's outcome transactions."""

    @property
    def per_s(self) -> float:
        return self.deliveries / self.seconds

    @property
    def cpu_us_per_delivery(self) -> float:
        return self.cpu_s * 1e6 / self.deliveries

    def quantile(self, q: float) -> float:
        return quantile(sorted(self.latencies_s), q)


def revisions(count: int) -> list[Signal]:
    """Revision r of every reaction before revision r + 1 of any."""
    reactions = max(1, count // REVISIONS_PER_REACTION)
    out: list[Signal] = []
    for revision in range(1, REVISIONS_PER_REACTION + 1):
        for k in range(reactions):
            if len(out) == count:
                return out
            out.append(
                SAMPLE.model_copy(
                    update={
                        "signal_id": f"a{k}|KOSPI|close|{revision}",
                        "announcement_id": f"a{k}",
                        "revision": revision,
                    }
                )
            )
    return out


async def write(store: SqlStore, batch: Sequence[Signal], emitted_s: Sequence[float]) -> None:
    """Write `batch`, each revision stamped as emitted at its time in `emitted_s`."""
    stamped = [
        s.model_copy(update={"emitted_at": datetime.fromtimestamp(t, UTC)})
        for s, t in zip(batch, emitted_s, strict=True)
    ]
    await store.write_batch(StoreBatch(signals=stamped))


async def write_paced(store: SqlStore, signals: Sequence[Signal], rate: float) -> float:
    """Revision i is emitted at `i / rate` s from now, whatever the writes cost: a write every
    PACED_WRITE_EVERY_S at most takes every revision emitted by then (at most BURST_BATCH), as a
    pipeline writing behind its engine would, so the offered rate is the asked rate and the
    wait for a write counts in the latency. Returns the rate the revisions were written at."""
    started_wall, started = time.time(), time.perf_counter()
    done = 0
    while done < len(signals):
        emitted = min(len(signals), int((time.perf_counter() - started) * rate) + 1)
        if emitted == done:
            await asyncio.sleep(max(0.0, started + done / rate - time.perf_counter()))
            continue
        upto = min(emitted, done + BURST_BATCH)
        times = [started_wall + i / rate for i in range(done, upto)]
        write_started = time.perf_counter()
        await write(store, signals[done:upto], times)
        done = upto
        await asyncio.sleep(max(0.0, write_started + PACED_WRITE_EVERY_S - time.perf_counter()))
    return len(signals) / (time.perf_counter() - started)


async def drained(store: SqlStore) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while await store.alerts.backlog():
        if time.monotonic() > deadline:
            raise TimeoutError("the outbox did not drain")
        await asyncio.sleep(0.05)


async def latencies(store: SqlStore) -> list[float]:
    o = alert_outbox.c
    async with store._engine.connect() as conn:
        rows = await conn.execute(select(o.delivered_at_us - o.emitted_at_us))
        return [r[0] / 1e6 for r in rows]


async def one_run(url: str, receiver: str, subscriptions: int, size: int, rate: float) -> Figures:
    """`rate` revisions/s, or all at once (0)."""
    store = await open_store(url)
    policy = DeliveryPolicy(allowed_hosts=frozenset({"127.0.0.1"}))
    try:
        for n in range(subscriptions):
            await store.alerts.add_subscription(
                StoredSubscription(
                    f"s{n}", receiver, AlertFilter(), "json", new_secret(), 0, True, None, 0, []
                )
            )
        async with alert_client(policy) as client:
            registry = CollectorRegistry()
            dispatcher = Dispatcher(store.alerts, client, policy, AlertMetrics.create(registry))
            running = asyncio.create_task(dispatcher.run(poll_s=1.0))
            signals = revisions(size)
            started, cpu_started = time.perf_counter(), time.process_time()
            if rate > 0:
                written_per_s = await write_paced(store, signals, rate)
            else:
                for i in range(0, len(signals), BURST_BATCH):
                    batch = signals[i : i + BURST_BATCH]
                    await write(store, batch, [time.time()] * len(batch))
                written_per_s = len(signals) / (time.perf_counter() - started)
            await drained(store)
            seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        counts = await store.alerts.counts()
        assert counts.dead == 0, f"{counts.dead} dead letters"
        load = os.getloadavg()[0]
        write_s = registry.get_sample_value("mr_alert_outcome_write_seconds_sum") or 0.0
        writes = registry.get_sample_value("mr_alert_outcome_write_seconds_count") or 1.0
        return Figures(
            counts.delivered,
            seconds,
            await latencies(store),
            cpu_s,
            load,
            written_per_s,
            write_s / writes,
        )
    finally:
        await store.close()


async def bench(args: argparse.Namespace, receiver: str, backend: str) -> None:
    phases = [("burst", 0.0, int(size)) for size in args.sizes.split(",")]
    phases += [
        (f"paced {rate} rev/s", float(rate), int(size))
        for rate in args.rates.split(",")
        for size in args.paced.split(",")
    ]
    for name, rate, count in phases:
        runs = []
        for run in range(args.runs):
            async with fresh_store(backend, f"bench_alerts_{run}") as url:
                runs.append(await one_run(url, receiver, args.subscriptions, count, rate))
        per_s = statistics.median(r.per_s for r in runs)
        p99_ms = statistics.median(r.quantile(0.99) * 1000 for r in runs)
        if rate > 0:
            offered = rate * args.subscriptions
            met = p99_ms <= TARGET_P99_MS and per_s >= min(offered, TARGET_PER_S) * 0.95
            target = f"p99 <= {TARGET_P99_MS} ms, {offered:,.0f} deliveries/s offered and kept up"
        else:
            met, target = per_s >= TARGET_PER_S, f">= {TARGET_PER_S:,} deliveries/s"
        print(
            f"{backend:<10} {count:>6,} revisions x {args.subscriptions} subscriptions, "
            f"{name:<16} {runs[0].deliveries:>7,} deliveries\n"
            f"    deliveries/s {spread([r.per_s for r in runs], ',.0f')}  "
            f"p50 ms {spread([r.quantile(0.5) * 1000 for r in runs], ',.1f')}  "
            f"p99 ms {spread([r.quantile(0.99) * 1000 for r in runs], ',.1f')}  "
            f"CPU us/delivery {spread([r.cpu_us_per_delivery for r in runs], ',.0f')}  "
            f"load {spread([r.load for r in runs], '.1f')}\n"
            f"    revisions written/s {spread([r.written_per_s for r in runs], ',.0f')}  "
            f"outcome write ms {spread([r.outcome_write_s * 1000 for r in runs], ',.1f')}\n"
            f"    target {target}: the median {'meets' if met else 'misses'} it",
            flush=True,
        )


@asynccontextmanager
async def fresh_store(backend: str, name: str) -> AsyncIterator[str]:
    """The URL of an empty store: a SQLite file, or a new PostgreSQL database `name`."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+aiosqlite:///{folder}/alerts.db"
        return
    admin = create_engine(PG_SERVER)
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    yield make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)


@contextmanager
def postgres_server() -> Iterator[None]:
    """The local PostgreSQL server, started (and stopped after) if none answers."""
    url = make_url(PG_SERVER)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            started = False
    except OSError:
        started = True
    script = str(ROOT / "deploy" / "local" / "postgres.sh")
    if started:
        subprocess.run(["bash", script, "up"], check=True)
    try:
        yield
    finally:
        if started:
            subprocess.run(["bash", script, "down"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1000,10000", help="revisions per burst, comma-separated"
    )
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rates", default="200,400", help="paced phases, revisions/s")
    parser.add_argument(
        "--paced", default="2000,10000", help="revisions per paced phase, comma-separated"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_receiver()
        return
    # the collector as `serve` sets it: start-up objects frozen, the youngest generation
    # collected every 50,000 allocations (at Python's 700, full collections over every object
    # alive stalled the loop for hundreds of milliseconds and took a third of the CPU)
    tune_collector(Settings().gc_young_threshold)
    with server_process(__file__) as port:
        print(
            f"alerts: {args.subscriptions} subscriptions matching every revision, a 204 receiver "
            f"in its own process, {args.runs} runs (min / median / max), {os.cpu_count()} CPUs",
            flush=True,
        )
        receiver = f"http://127.0.0.1:{port}/hook"
        if args.backend in ("sqlite", "both"):
            uvloop.run(bench(args, receiver, "sqlite"))
        if args.backend in ("postgresql", "both"):
            with postgres_server():
                uvloop.run(bench(args, receiver, "postgresql"))


if __name__ == "__main__":
    main()
