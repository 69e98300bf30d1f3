"""Helpers for tests against real processes: an in-process uvicorn server, an independent
Kafka client (kcat), a service's metrics, and bounded waiting for a condition."""

from __future__ import annotations

import asyncio
import inspect
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager

import httpx
import uvicorn
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from services.api.hub import SignalHub


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout_s: float = 60,
    what: str = "condition",
) -> None:
    """Poll `condition` until it holds; fail after `timeout_s` (a bound, not an input)."""
    deadline = time.monotonic() + timeout_s
    while not await _holds(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


def listening(address: str) -> bool:
    """Whether something accepts connections at `address` ("host:port") now."""
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A loopback port free now (a server binds it a moment later; a clash fails loudly)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = condition()
    return await result if inspect.isawaitable(result) else result


@asynccontextmanager
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` with a real uvicorn on a free loopback port; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), timeout_s=60, what="uvicorn start")
    if task.done():
        task.result()
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def metric(
    http: httpx.AsyncClient, name: str, url: str = "/metrics", /, **labels: str
) -> float:
    """The sum of the samples of `name` at `url` whose labels include `labels` (0 when none)."""
    text = (await http.get(url)).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


@contextmanager
def thread_server(
    app: Callable[[], AbstractAsyncContextManager[FastAPI]], *, name: str
) -> Iterator[str]:
    """`live_server` in a thread of its own with its own event loop, for synchronous clients
    (schemathesis); `app` opens the app, and what it needs, inside that loop. Yields the base
    URL."""
    started = threading.Event()
    state: dict[str, str] = {}
    stop: list[Callable[[], object]] = []

    async def serve() -> None:
        loop, stopping = asyncio.get_running_loop(), asyncio.Event()
        stop.append(lambda: loop.call_soon_threadsafe(stopping.set))
        async with app() as served, live_server(served) as url:
            state["url"] = url
            started.set()
            await stopping.wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        finally:
            started.set()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    assert started.wait(60), f"{name} did not start in 60 s"
    assert "url" in state, f"{name} failed to start"
    try:
        yield state["url"]
    finally:
        stop[0]()
        thread.join(30)


def kcat_produce(
    bootstrap: str,
    topic: str,
    values: Sequence[bytes],
    key: bytes = b"",
    compression: str | None = None,
) -> None:
    """Produce one record per value with Debian's kcat, a client independent of the service,
    its batches compressed with `compression` (gzip, snappy, lz4, zstd) if given."""
    kcat = shutil.which("kcat")
    assert kcat, "kcat is missing: `make install` installs it"
    if any(b"\n" in v or b"\t" in v for v in values):
        raise ValueError("kcat reads one record per line: values must not hold newlines or tabs")
    data = b"".join((key + b"\t" if key else b"") + v + b"\n" for v in values)
    command = [kcat, "-P", "-b", bootstrap, "-t", topic]
    if key:
        command += ["-K", "\t"]
    if compression:
        command += ["-z", compression]
    subprocess.run(command, input=data, check=True, timeout=60)


def kcat_consume(bootstrap: str, topic: str) -> list[dict[str, bytes]]:
    """Every record of `topic` with its headers, read with kcat from the beginning to the end."""
    kcat = shutil.which("kcat")
    assert kcat, "kcat is missing: `make install` installs it"
    fmt = "%o\x1f%h\x1f%s\x1e"
    out = subprocess.run(
        [kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", fmt],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    records = []
    for chunk in out.split(b"\x1e")[:-1]:
        offset, headers, value = chunk.split(b"\x1f", 2)
        record = {"offset": offset, "value": value}
        # header values may hold commas; every header of ours is named mr.*
        for header in re.split(rb",(?=mr\.)", headers):
            name, _, header_value = header.partition(b"=")
            record[name.decode()] = header_value
        records.append(record)
    return records


def hub_of(app: FastAPI) -> SignalHub:
    """The live clients' hub of a running app (roles all and api)."""
    streams = app.state.runtime.streams
    assert streams is not None, "this role serves no live streams"
    hub: SignalHub = streams.hub
    return hub
