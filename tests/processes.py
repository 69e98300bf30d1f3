"""`market-reaction serve` processes for tests: each started on a free port with the test's
settings and its own log file, waited for through /readyz, read through /metrics, and stopped
(or SIGKILLed) by its own pid."""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.settings import Settings, process_environment
from tests.helpers import eventually, free_port
from tests.helpers import metric as scraped

ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT_S = 10.0


def log_tail(path: Path, lines: int = 40) -> str:
    """The process's last log lines, without uvicorn's access log of the test's polling."""
    kept = [
        line for line in path.read_text(errors="replace").splitlines() if " HTTP/1.1" not in line
    ]
    return "\n".join(kept[-lines:])


@dataclass
class Service:
    """One `market-reaction serve` process."""

    name: str
    role: str
    process: asyncio.subprocess.Process
    base_url: str
    log: Path

    def alive(self) -> bool:
        """True while running; fails with the log's tail once it has exited."""
        if self.process.returncode is not None:
            raise AssertionError(
                f"{self.name} exited with {self.process.returncode}:\n{log_tail(self.log)}"
            )
        return True

    async def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed or committed."""
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """terminate, wait, kill on timeout (by this process's own pid)."""
        if self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def service_env(settings: Settings, replica_id: str, **extra: str) -> dict[str, str]:
    """This process's environment without its MR_ settings, then `settings`' and `extra`."""
    env = process_environment(settings, replica_id=replica_id, log_level="INFO")
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


async def start(role: str, name: str, env: dict[str, str], logs: Path) -> Service:
    """`market-reaction serve --role role` on a free port, logging to `logs/name.log`."""
    port = free_port()
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "services.cli", "serve", "--role", role),
            *("--host", "127.0.0.1", "--port", str(port)),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    return Service(name, role, process, f"http://127.0.0.1:{port}", log)


async def readyz(http: httpx.AsyncClient, service: Service) -> dict[str, Any] | None:
    """The /readyz body when it answers 200, None while not ready."""
    service.alive()
    try:
        response = await http.get(service.base_url + "/readyz")
    except httpx.TransportError:
        return None
    body: dict[str, Any] = response.json()
    return body if response.status_code == 200 else None


async def wait_ready(http: httpx.AsyncClient, *services: Service, timeout_s: float = 60) -> None:
    """Until every one of `services` answers /readyz with 200 (failing if one exits)."""

    async def all_ready() -> bool:
        return all([await readyz(http, service) is not None for service in services])

    names = ", ".join(service.name for service in services)
    await eventually(all_ready, timeout_s=timeout_s, what=f"{names} ready")


async def owned_partitions(
    http: httpx.AsyncClient, engine: Service, settings: Settings
) -> set[int] | None:
    """The `market.prices` partitions assigned to `engine` (from its /readyz), None if not
    ready."""
    body = await readyz(http, engine)
    if body is None:
        return None
    return set(body["checks"][settings.prices_topic]["partitions"])


async def metric(http: httpx.AsyncClient, service: Service, name: str, **labels: str) -> float:
    """The sum of `service`'s samples of `name` whose labels include `labels` (0 when none)."""
    service.alive()
    return await scraped(http, name, service.base_url + "/metrics", **labels)
