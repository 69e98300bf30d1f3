"""Webhook alerts: matching revisions to 10 subscriptions, end to end.

Revisions are written through the store (each batch queues its alerts in the same transaction),
the dispatcher delivers them with httpx to a fast receiver in its own uvicorn process (uvloop,
httptools, answers 204). Every run starts from a fresh SQLite store. Prints figures, never
asserts.

    .venv/bin/python benchmarks/bench_alerts.py [--sizes 1000,10000] [--subscriptions 10]
        [--runs 3] [--rate 20] [--paced 1000] [--database-url URL]

Phases per size: `burst` writes every revision at once, 500 per store batch (5 revisions per
reaction, in order), and times until the outbox is empty: deliveries/s; its latency is mostly
queueing. `paced` writes `--paced` revisions at `--rate` revisions/s in batches of 10: latency at
a steady load (revision emitted, i.e. stamped just before its store write, to the receiver's 2xx
as the dispatcher records it). Sizes go past the dispatcher's round (16 x 16 rows per
subscription) many times over. Each figure: min / median / max over `--runs` runs."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
import uvloop  # noqa: E402
from sqlalchemy import select  # noqa: E402

from services.alerts.delivery import DeliveryPolicy  # noqa: E402
from services.alerts.dispatcher import Dispatcher, alert_client  # noqa: E402
from services.alerts.filters import AlertFilter  # noqa: E402
from services.alerts.signing import new_secret  # noqa: E402
from services.alerts.types import StoredSubscription  # noqa: E402
from services.events import Signal  # noqa: E402
from services.store import SqlStore, StoreBatch, open_store  # noqa: E402
from services.store.alert_outbox import alert_outbox  # noqa: E402

REVISIONS_PER_REACTION = 5
BURST_BATCH = 500
PACED_BATCH = 10
DRAIN_TIMEOUT_S = 900.0
T0 = datetime(2025, 7, 8, 0, 0, tzinfo=UTC)
TEMPLATE = Signal(
    signal_id="x",
    announcement_id="x",
    instrument="KOSPI",
    horizon="close",
    revision=1,
    final=False,
    anchor_at=T0,
    base_price=3059.47,
    base_at=T0,
    last_price=3114.85,
    last_at=T0,
    return_pct=1.81,
    max_rise_pct=1.84,
    max_fall_pct=-0.12,
    peak_at=T0,
    time_to_peak_s=600.0,
    z_score=1.92,
    direction="up",
    data_granularity="tick",
    emitted_at=T0,
)


# -- the receiver process --------------------------------------------------------------------


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def serve_receiver() -> None:
    sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(receiver_app, log_level="warning", access_log=False)
    uvloop.run(uvicorn.Server(config).serve(sockets=[sock]))


# -- the bench -------------------------------------------------------------------------------


@dataclass
class Figures:
    deliveries: int
    seconds: float
    latencies_s: list[float]

    @property
    def per_s(self) -> float:
        return self.deliveries / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def revisions(count: int) -> list[Signal]:
    """Revision r of every reaction before revision r + 1 of any."""
    reactions = max(1, count // REVISIONS_PER_REACTION)
    out = []
    for revision in range(1, REVISIONS_PER_REACTION + 1):
        for k in range(reactions):
            if len(out) == count:
                return out
            out.append(
                TEMPLATE.model_copy(
                    update={
                        "signal_id": f"a{k}|KOSPI|close|{revision}",
                        "announcement_id": f"a{k}",
                        "revision": revision,
                    }
                )
            )
    return out


async def write(store: SqlStore, batch: Sequence[Signal]) -> None:
    now = datetime.now(UTC)
    await store.write_batch(
        StoreBatch(signals=[s.model_copy(update={"emitted_at": now}) for s in batch])
    )


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


async def one_run(
    url: str, receiver: str, subscriptions: int, size: int, paced: bool, rate: float
) -> Figures:
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
            dispatcher = Dispatcher(store.alerts, client, policy)
            running = asyncio.create_task(dispatcher.run(poll_s=1.0))
            signals = revisions(size)
            started = time.perf_counter()
            if paced:
                for i in range(0, len(signals), PACED_BATCH):
                    due = started + i / rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    await write(store, signals[i : i + PACED_BATCH])
            else:
                for i in range(0, len(signals), BURST_BATCH):
                    await write(store, signals[i : i + BURST_BATCH])
            await drained(store)
            seconds = time.perf_counter() - started
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        counts = await store.alerts.counts()
        assert counts.dead == 0, f"{counts.dead} dead letters"
        return Figures(counts.delivered, seconds, await latencies(store))
    finally:
        await store.close()


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


async def bench(args: argparse.Namespace, receiver: str) -> None:
    for size in (int(s) for s in args.sizes.split(",")):
        phases = [
            ("burst", False, size),
            (f"paced {args.rate:g} rev/s", True, min(size, args.paced)),
        ]
        for name, paced, count in phases:
            runs = []
            for run in range(args.runs):
                with tempfile.TemporaryDirectory() as folder:
                    url = args.database_url or f"sqlite+aiosqlite:///{folder}/alerts.db"
                    if args.database_url:
                        url = await fresh_postgres(args.database_url, f"bench_alerts_{run}")
                    runs.append(
                        await one_run(url, receiver, args.subscriptions, count, paced, args.rate)
                    )
            deliveries = runs[0].deliveries
            print(
                f"{count:>6,} revisions x {args.subscriptions} subscriptions, {name:<16} "
                f"{deliveries:>7,} deliveries  "
                f"deliveries/s {spread([r.per_s for r in runs], ',.0f')}  "
                f"p50 ms {spread([r.quantile(0.5) * 1000 for r in runs], '.1f')}  "
                f"p99 ms {spread([r.quantile(0.99) * 1000 for r in runs], '.1f')}",
                flush=True,
            )


async def fresh_postgres(url: str, name: str) -> str:
    """A fresh database `name` on the server of `url`."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from services.store.connect import create_engine

    admin = create_engine(url)
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="revisions per run, comma-separated")
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0, help="paced phase, revisions/s")
    parser.add_argument("--paced", type=int, default=1000, help="revisions in the paced phase")
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_receiver()
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        print(
            f"alerts: {args.subscriptions} subscriptions matching every revision, a 204 receiver "
            f"in its own process, store {'PostgreSQL' if args.database_url else 'SQLite'}, "
            f"{args.runs} runs (min / median / max), {os.cpu_count()} CPUs",
            flush=True,
        )
        uvloop.run(bench(args, f"http://127.0.0.1:{port}/hook"))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
