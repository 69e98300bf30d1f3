"""A real Prometheus for tests: Debian's `prometheus` (which `make install` installs) on a free
loopback port with a configuration the test writes, and a small client of its HTTP API. The
server is stopped by its pid when the test ends: SIGTERM, then SIGKILL if it does not exit."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.helpers import eventually, free_port

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Prometheus:
    """A running server: its HTTP API and its log."""

    url: str
    http: httpx.AsyncClient
    log: Path

    async def query(self, expr: str) -> dict[str, Any]:
        """The body of an instant query at the server's now: `status`, then `data` or
        `error` (a parse error is an answer, not an exception)."""
        response = await self.http.get("/api/v1/query", params={"query": expr})
        body: dict[str, Any] = response.json()
        return body

    async def alerts(self) -> list[dict[str, Any]]:
        """The active (pending or firing) alerts."""
        response = await self.http.get("/api/v1/alerts")
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()["data"]["alerts"]
        return alerts

    async def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule, with its health and last error."""
        response = await self.http.get("/api/v1/rules")
        response.raise_for_status()
        groups = response.json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@contextlib.asynccontextmanager
async def prometheus_server(config: dict[str, Any], folder: Path) -> AsyncIterator[Prometheus]:
    """Start Prometheus with `config` (written to `folder`/prometheus.yml; relative rule files
    are found beside it) and its TSDB in `folder`/data; yields once /-/ready answers."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus not found: Debian's `prometheus` package; `make install`")
    config_file = folder / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    log = folder / "prometheus.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address={url.removeprefix('http://')}",
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            server = Prometheus(url, http, log)

            async def ready() -> bool:
                if process.returncode is not None:
                    raise AssertionError(
                        f"prometheus exited with {process.returncode}:\n{server.log_tail()}"
                    )
                try:
                    return (await http.get("/-/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, timeout_s=READY_TIMEOUT_S, what=f"prometheus at {url}")
            yield server
    finally:
        await _stop(process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
