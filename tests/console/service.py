"""The service as a user runs it (`market-reaction serve` in its own process), so a test can
kill it outright and start it again on the same port and store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from services.settings import Settings
from tests.helpers import eventually, free_port

SETTINGS_PASSED = (
    "kafka_bootstrap",
    "announcements_topic",
    "prices_topic",
    "signals_topic",
    "group_id",
    "database_url",
    "ingest_poll_timeout_ms",
    "api_keys_sha256",
    "api_write_keys_sha256",
)


class ServiceProcess:
    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._env = dict(os.environ)
        for name in SETTINGS_PASSED:
            value = getattr(settings, name)
            as_text = orjson.dumps(value).decode() if isinstance(value, list) else str(value)
            self._env[f"MR_{name.upper()}"] = as_text

    async def start(self) -> None:
        process = self._spawn()

        async def ready() -> bool:
            assert process.poll() is None, f"the service exited; see {self._log_path}"
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{self.base}/readyz", timeout=2)).status_code == 200
            except httpx.TransportError:
                return False

        try:
            await eventually(ready, timeout_s=90, what="the service ready")
        except BaseException:
            self.stop()  # not left running when it never became ready
            raise

    def _spawn(self) -> subprocess.Popen[bytes]:
        assert self._process is None, "already running"
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", "--port", str(self.port)],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self._process

    def kill(self) -> None:
        """SIGKILL: no graceful stop, no last commit."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)
            self._process = None
