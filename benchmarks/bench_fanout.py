"""Live fan-out: signals published to the hub, delivered to 200 WebSocket clients.

A uvicorn process (as `market-reaction serve` runs it: uvloop, httptools, websockets-sansio)
serves the real streams router over a `SignalHub` it feeds itself; client processes (the
`websockets` library) hold the connections. Each signal's `emitted_at` is stamped just before
`hub.publish`, so a client's receive time minus it is the added latency (one machine, one
clock; it includes the client processes' own delays, which share the CPUs). Prints figures,
never asserts.

    .venv/bin/python benchmarks/bench_fanout.py [--clients 200] [--processes 2] [--signals 1000]
        [--rates 100,200] [--deflate] [--profile server.prof]

Phases: `burst` publishes every signal as fast as the hub takes them, ten per `publish`
(throughput: messages delivered per second in aggregate; its latency is mostly queueing), then
one paced phase per rate in signals/s (latency at a steady load of rate x clients messages/s).
Client queues hold a whole phase, so nobody is dropped. `--deflate` turns permessage-deflate on
(uvicorn's default; every client's copy is then compressed on its own). `--profile` writes the
server's cProfile stats: `python -m pstats server.prof`, then `sort tottime`, `stats 30`."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import orjson  # noqa: E402
import uvicorn  # noqa: E402
import uvloop  # noqa: E402
from delivery import SAMPLE, listen_and_tell, quantile, server_process  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from services.api import streams  # noqa: E402
from services.api.deps import Runtime  # noqa: E402
from services.api.hub import SignalHub  # noqa: E402
from services.api.resume import TagCache  # noqa: E402
from services.events import Announcement, Signal  # noqa: E402

# -- the server process ----------------------------------------------------------------------


class EmptyLog:
    """No stored history: clients connect without a cursor."""

    async def revisions_after(self, cursor: int, *, limit: int) -> list[Signal]:
        return []

    async def get_announcement(self, announcement_id: str) -> Announcement | None:
        return None


def server_app(queue_size: int) -> FastAPI:
    tags = TagCache()
    hub = SignalHub(tags.get)
    registry = CollectorRegistry()
    app = FastAPI()
    app.state.runtime = Runtime(
        registry=registry,
        streams=streams.Streams(
            hub=hub,
            tags=tags,
            revisions=EmptyLog(),
            metrics=streams.StreamMetrics.create(registry),
            queue_size=queue_size,
            heartbeat_s=15.0,
            send_timeout_s=10.0,
        ),
    )
    app.include_router(streams.router)
    publishing: set[asyncio.Task[None]] = set()

    @app.get("/bench/clients")
    async def clients() -> int:
        return len(hub)

    @app.get("/bench/dropped")
    async def dropped() -> float:
        return sum(
            s.value
            for family in registry.collect()
            for s in family.samples
            if s.name == "mr_stream_clients_dropped_total"
        )

    @app.post("/bench/publish")
    async def publish(signals: int, rate: float, batch: int) -> None:
        """`rate` signals/s in batches of `batch` per `hub.publish`; 0: as fast as it takes."""
        task = asyncio.create_task(_publish(hub, signals, rate, batch))
        publishing.add(task)
        task.add_done_callback(publishing.discard)

    return app


async def _publish(hub: SignalHub, count: int, rate: float, batch: int) -> None:
    started = time.monotonic()
    for first in range(1, count + 1, batch):
        if rate > 0:
            delay_s = started + (first - 1) / rate - time.monotonic()
            if delay_s > 0:
                await asyncio.sleep(delay_s)
        now = datetime.now(UTC)
        hub.publish(
            [
                SAMPLE.model_copy(update={"cursor": cursor, "emitted_at": now})
                for cursor in range(first, min(first + batch, count + 1))
            ]
        )
        if rate <= 0:
            await asyncio.sleep(0)  # the publisher yields between batches, as the engine does


def serve(queue_size: int, deflate: bool, profile: str | None) -> None:
    config = uvicorn.Config(
        server_app(queue_size), log_level="warning", ws_per_message_deflate=deflate
    )
    sock = listen_and_tell()
    serving = uvicorn.Server(config).serve(sockets=[sock])
    if profile is None:
        uvloop.run(serving)  # the loop `uvicorn.run` picks by default
        return
    # uvicorn re-raises the SIGTERM it handled once shut down: let it return instead
    signal.signal(signal.SIGTERM, lambda *_: None)
    profiler = cProfile.Profile()
    profiler.runcall(uvloop.run, serving)
    profiler.dump_stats(profile)


# -- a client process ------------------------------------------------------------------------


async def hold_clients(port: int, count: int, expect: int, idle_s: float) -> dict[str, Any]:
    connections = [await connect(f"ws://127.0.0.1:{port}/v1/signals/ws") for _ in range(count)]
    print("ready", flush=True)
    latencies_ms: list[float] = []
    first_emitted = [float("inf")]
    last_received = [0.0]
    closed = [0]

    async def read(connection: Any) -> None:
        received = 0
        try:
            while received < expect:
                message = await asyncio.wait_for(connection.recv(), idle_s)
                now = time.time()
                emitted = datetime.fromisoformat(orjson.loads(message)["emitted_at"]).timestamp()
                latencies_ms.append((now - emitted) * 1000)
                first_emitted[0] = min(first_emitted[0], emitted)
                last_received[0] = max(last_received[0], now)
                received += 1
        except (TimeoutError, ConnectionClosed):
            closed[0] += 1
        finally:
            await connection.close()

    await asyncio.gather(*(read(c) for c in connections))
    return {
        "latencies_ms": latencies_ms,
        "first_emitted": first_emitted[0],
        "last_received": last_received[0],
        "incomplete": closed[0],
    }


# -- the orchestrator ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    rate: float
    """Signals/s; 0 publishes as fast as the hub takes them."""
    batch: int


def run_phase(port: int, args: argparse.Namespace, phase: Phase) -> None:
    per_process = [args.clients // args.processes] * args.processes
    per_process[0] += args.clients - sum(per_process)
    command = [sys.executable, __file__, "--client-port", str(port), "--signals", str(args.signals)]
    procs = [
        subprocess.Popen([*command, "--clients", str(n)], stdout=subprocess.PIPE, text=True)
        for n in per_process
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            while http.get("/bench/clients").json() < args.clients:
                time.sleep(0.05)
            dropped_before = http.get("/bench/dropped").json()
            http.post(
                "/bench/publish",
                params={"signals": args.signals, "rate": phase.rate, "batch": phase.batch},
            )
            results = [json.loads(proc.communicate(timeout=600)[0]) for proc in procs]
            dropped = http.get("/bench/dropped").json() - dropped_before
    finally:
        for proc in procs:
            proc.kill()
    latencies = sorted(x for r in results for x in r["latencies_ms"])
    span_s = max(r["last_received"] for r in results) - min(r["first_emitted"] for r in results)
    offered = "as fast as possible" if phase.rate <= 0 else f"{phase.rate * args.clients:,.0f}/s"
    print(
        f"{phase.name:>10}: offered {offered:>20}, delivered {len(latencies) / span_s:>9,.0f} "
        f"msgs/s ({len(latencies):,} in {span_s:.2f} s); added latency p50 "
        f"{quantile(latencies, 0.5):6.1f} ms, p99 {quantile(latencies, 0.99):6.1f} ms, "
        f"max {latencies[-1]:6.1f} ms; dropped {dropped:.0f}, incomplete "
        f"{sum(r['incomplete'] for r in results)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--signals", type=int, default=1000, help="signals per phase")
    parser.add_argument("--rates", default="100,200", help="paced phases, signals/s")
    parser.add_argument("--deflate", action="store_true", help="permessage-deflate on")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the server into FILE")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(queue_size=args.signals + 10, deflate=args.deflate, profile=args.profile)
        return
    if args.client_port:
        result = asyncio.run(hold_clients(args.client_port, args.clients, args.signals, 10.0))
        sys.stdout.write(json.dumps(result))
        return

    flags = ["--signals", str(args.signals)] + (["--deflate"] if args.deflate else [])
    flags += ["--profile", args.profile] if args.profile else []
    with server_process(__file__, *flags) as port:
        print(
            f"fan-out: {args.clients} WebSocket clients in {args.processes} processes, "
            f"{args.signals:,} signals per phase, permessage-deflate "
            f"{'on' if args.deflate else 'off'}, {os.cpu_count()} CPUs"
        )
        phases = [Phase("burst", 0, 10)]
        phases += [Phase(f"{r} sig/s", float(r), 1) for r in args.rates.split(",")]
        for phase in phases:
            run_phase(port, args, phase)


if __name__ == "__main__":
    main()
