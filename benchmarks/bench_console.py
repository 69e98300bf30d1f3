"""The desk console in a real browser (Debian's Chromium, driven by Playwright): how long from a
revision's publish to its tile updating on the board, and how fast the page first renders.

A uvicorn process (as `market-reaction serve` runs it) serves the console's built files and the
real SSE streams router over a `SignalHub` it feeds itself, with the few reads the board makes at
start-up (announcements, metrics) answered from memory. Each revision's `emitted_at` is stamped
just before `hub.publish`; the page notes `Date.now()` when the animation frame that draws the
tile runs (one machine, one clock), so the figure covers the stream, the browser's parsing and
the board's batched DOM update. Revisions of a tile that arrive within one frame are coalesced:
only the one drawn is measured. A frame gap is the time between two animation frames while
revisions flow: the page freezes when it grows. Prints figures, never asserts.

    .venv/bin/python benchmarks/bench_console.py [--runs 3] [--seconds 5] [--rates 100,1000]
        [--tiles 60,600]
"""

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
import uvloop  # noqa: E402
from fastapi import FastAPI, Response  # noqa: E402
from playwright.async_api import Page, async_playwright  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from services.api import streams  # noqa: E402
from services.api.deps import Runtime  # noqa: E402
from services.api.hub import SignalHub  # noqa: E402
from services.api.resume import TagCache  # noqa: E402
from services.console import STATIC_DIR, mount_console  # noqa: E402
from services.events import Announcement, Signal  # noqa: E402
from tests import factories  # noqa: E402
from tests.console.chromium import launch  # noqa: E402

INSTRUMENTS = ("KOSPI", "KOSDAQ", "USDKRW", "005380.KS", "005490.KS")
HORIZONS = ("5m", "30m", "2h", "close", "close+1", "close+5")
T0 = datetime(2025, 7, 8, tzinfo=UTC)


# -- the server process ----------------------------------------------------------------------


def announcements(count: int) -> list[Announcement]:
    return [
        factories.announcement(
            f"bench-{i:04d}", T0 + timedelta(hours=i), headline=f"Benchmark announcement {i}"
        )
        for i in range(count)
    ]


def reaction(cursor: int, tiles: int, now: datetime) -> Signal:
    slot = cursor % tiles
    announcement, rest = divmod(slot, len(INSTRUMENTS) * len(HORIZONS))
    instrument, horizon = divmod(rest, len(HORIZONS))
    ret = (cursor % 400) / 100 - 2
    return factories.signal(
        f"bench-{announcement:04d}",
        INSTRUMENTS[instrument],
        HORIZONS[horizon],
        cursor // tiles + 1,
        return_pct=ret,
        z_score=ret / 0.9,
        signal_id=f"bench-{cursor}",
        cursor=cursor,
        abnormal_return_pct=ret,
        data_granularity="tick",
        emitted_at=now,
    )


class NoHistory:
    async def revisions_after(self, cursor: int, *, limit: int) -> list[Signal]:
        return []

    async def get_announcement(self, announcement_id: str) -> Announcement | None:
        return None


def server_app(max_tiles: int) -> FastAPI:
    tags = TagCache()
    hub = SignalHub(tags.get)
    app = FastAPI()
    app.state.runtime = Runtime(
        registry=CollectorRegistry(),
        streams=streams.Streams(
            hub=hub,
            tags=tags,
            revisions=NoHistory(),
            metrics=streams.StreamMetrics.create(CollectorRegistry()),
            queue_size=100_000,
            heartbeat_s=15.0,
            send_timeout_s=10.0,
        ),
    )
    app.include_router(streams.router)
    mount_console(app)
    known = announcements(max_tiles // (len(INSTRUMENTS) * len(HORIZONS)) + 1)
    state = {"cursor": 0}
    tasks: set[asyncio.Task[None]] = set()

    @app.get("/v1/announcements")
    async def list_announcements() -> dict[str, Any]:
        return {"items": [a.model_dump(mode="json") for a in known], "next_cursor": None}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response("", media_type="text/plain")

    @app.post("/bench/publish")
    async def publish(count: int, rate: float, tiles: int) -> int:
        """`count` revisions at `rate`/s over `tiles` reactions; returns the last cursor."""
        first = state["cursor"] + 1
        state["cursor"] += count
        task = asyncio.create_task(_publish(hub, first, count, rate, tiles))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return state["cursor"]

    return app


async def _publish(hub: SignalHub, first: int, count: int, rate: float, tiles: int) -> None:
    batch = max(1, int(rate // 100))  # a publish every 10 ms at most
    started = time.monotonic()
    for offset in range(0, count, batch):
        delay_s = started + offset / rate - time.monotonic()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        now = datetime.now(UTC)
        last = min(offset + batch, count)
        hub.publish([reaction(first + i, tiles, now) for i in range(offset, last)])


def serve(port: int, max_tiles: int) -> None:
    config = uvicorn.Config(server_app(max_tiles), port=port, log_level="warning")
    uvloop.run(uvicorn.Server(config).serve())


# -- the browser -----------------------------------------------------------------------------

MEASURE = """() => {
  const m = (window.benchMeasure = { latencies: [], gaps: [], lastPainted: 0, flowing: false });
  const board = window.mrConsole.board;
  board.onPainted = (keys) => {
    const now = Date.now();
    const keyOf = (r) => `${r.announcement_id}|${r.instrument}|${r.horizon}`;
    const shown = new Map(board.latest().map((r) => [keyOf(r), r]));
    for (const key of keys) {
      const r = shown.get(key);
      m.latencies.push(now - Date.parse(r.emitted_at));
      if (r.cursor > m.lastPainted) m.lastPainted = r.cursor;
    }
  };
  let previous = performance.now();
  const tick = (t) => {
    if (m.flowing) m.gaps.push(t - previous);
    previous = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def open_console(playwright: Any, base: str, profile: Path) -> tuple[Any, Page, float]:
    context = await launch(playwright, profile)
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(base)
    await page.wait_for_selector('#health [data-stream="live"]', timeout=30_000)
    paint = await page.evaluate(
        "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN"
    )
    return context, page, float(paint)


async def one_phase(
    page: Page, http: httpx.AsyncClient, rate: float, seconds: float, tiles: int
) -> dict[str, float]:
    await page.evaluate(MEASURE)
    await page.evaluate("window.benchMeasure.flowing = true")
    count = int(rate * seconds)
    last = int(
        (
            await http.post("/bench/publish", params={"count": count, "rate": rate, "tiles": tiles})
        ).text
    )
    await page.wait_for_function(
        f"window.benchMeasure.lastPainted >= {last}", timeout=(seconds + 60) * 1000
    )
    measured = await page.evaluate(
        "(() => { const m = window.benchMeasure; m.flowing = false; return m; })()"
    )
    latencies, gaps = measured["latencies"], measured["gaps"]
    return {
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "drawn": len(latencies),
        "gap_p99": percentile(gaps, 0.99),
        "gap_max": max(gaps, default=float("nan")),
    }


def summary(values: list[float]) -> str:
    return f"{min(values):7.1f} {statistics.median(values):7.1f} {max(values):7.1f}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(port: int, max_tiles: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--tiles", str(max_tiles)]
    )


async def until_up(http: httpx.AsyncClient) -> None:
    for _ in range(600):  # 60 s at most
        try:
            if (await http.get("/")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("bench_console: the server did not start")


Results = dict[tuple[int, float], list[dict[str, float]]]


async def bench(args: argparse.Namespace) -> tuple[list[float], Results]:
    rates = [float(r) for r in args.rates.split(",")]
    sizes = [int(t) for t in args.tiles.split(",")]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, max(sizes))
    first_paint: list[float] = []
    results: Results = {}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http, async_playwright() as pw:
            await until_up(http)
            for run in range(args.runs):
                with tempfile.TemporaryDirectory() as profile:
                    context, page, paint = await open_console(pw, base, Path(profile))
                    first_paint.append(paint)
                    for tiles in sizes:
                        for rate in rates:
                            phase = await one_phase(page, http, rate, args.seconds, tiles)
                            results.setdefault((tiles, rate), []).append(phase)
                    await context.close()
                print(f"run {run + 1}/{args.runs} done", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return first_paint, results


def report(runs: int, first_paint: list[float], results: Results) -> None:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {load} (browser and server share them)")
    print(f"\nconsole: first contentful paint (cold profile), ms, min/median/max over {runs}")
    print(f"  {summary(first_paint)}")
    print("\nconsole: revision publish -> tile drawn, ms (each: min/median/max over the runs)")
    columns = ("p50", "p99", "frame gap p99", "frame gap max")
    print(f"{'tiles':>6} {'rev/s':>6} | " + " | ".join(f"{c:^23}" for c in columns) + " | drawn")
    for (tiles, rate), phases in results.items():
        cells = [
            summary([p[name] for p in phases]) for name in ("p50", "p99", "gap_p99", "gap_max")
        ]
        drawn = statistics.median(p["drawn"] for p in phases)
        print(f"{tiles:>6} {rate:>6.0f} | " + " | ".join(cells) + f" | {drawn:.0f}")
    print("\ntarget: p99 <= 100 ms at 100 revisions/s; a frame gap far above 16.7 ms is a freeze")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--rates", default="100,1000", help="revisions/s, comma-separated")
    parser.add_argument("--tiles", default="60,600", help="reactions on the board, comma-separated")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, int(args.tiles))
        return
    if not (STATIC_DIR / "index.html").is_file():
        sys.exit("bench_console: the console is not built: `make install` builds it")
    report(args.runs, *asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
