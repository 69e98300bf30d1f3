"""A broker or a PostgreSQL server of a test's own, on free ports and in a directory of its own,
for faults that must not touch the shared ones (freezing a broker, restarting a database). Each
is started with the project's scripts and stopped by them (by its pid) at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import free_port, listening
from tests.kafka_broker import KAFKA_SCRIPT, ROOT
from tests.postgres_server import POSTGRES_SCRIPT


class OwnBroker:
    def __init__(self, bootstrap: str, env: dict[str, str], pidfile: Path) -> None:
        self.bootstrap = bootstrap
        self._env = env
        self._pidfile = pidfile

    @property
    def pid(self) -> int:
        return int(self._pidfile.read_text())

    def up(self) -> None:
        subprocess.run(["bash", str(KAFKA_SCRIPT), "up"], check=True, env=self._env)

    def down(self) -> None:
        self.thaw()  # a frozen process cannot stop
        subprocess.run(["bash", str(KAFKA_SCRIPT), "down"], check=True, env=self._env)

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        with contextlib.suppress(ProcessLookupError, FileNotFoundError):
            os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, frozen or not: whatever its sockets held unread is lost, as in a crash."""
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        # a zombie leader may still have threads closing its sockets: wait for the port too
        while _alive(pid) or listening(self.bootstrap):
            if time.monotonic() > deadline:
                raise AssertionError(f"broker pid {pid} still alive 30 s after SIGKILL")
            time.sleep(0.1)
        self._pidfile.unlink()


def _alive(pid: int) -> bool:
    """Running, or stopped; a zombie (killed, not reaped yet) is not alive."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@contextmanager
def own_broker() -> Iterator[OwnBroker]:
    # the jars are fetched once into the project's cache and shared; the state is the test's
    subprocess.run(["bash", str(KAFKA_SCRIPT), "fetch"], check=True)
    with tempfile.TemporaryDirectory(prefix="mr-kafka-") as cache:
        port = free_port()
        env = {
            **os.environ,
            "MR_CACHE_DIR": cache,
            "MR_KAFKA_LIBS": str(ROOT / ".cache" / "kafka" / "libs"),
            "MR_KAFKA_PORT": str(port),
            "MR_KAFKA_CONTROLLER_PORT": str(free_port()),
        }
        broker = OwnBroker(f"127.0.0.1:{port}", env, Path(cache) / "kafka" / "broker.pid")
        broker.up()
        try:
            yield broker
        finally:
            broker.down()


@dataclass(frozen=True, slots=True)
class OwnPostgres:
    url: str
    """SQLAlchemy URL of its database."""
    env: dict[str, str]

    def stop(self) -> None:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "down"], check=True, env=self.env)

    def start(self) -> None:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "up"], check=True, env=self.env)


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    with tempfile.TemporaryDirectory(prefix="mr-postgres-") as cache:
        os.chmod(cache, 0o755)  # the server runs as the postgres user when the tests run as root
        port = free_port()
        env = {**os.environ, "MR_CACHE_DIR": cache, "MR_POSTGRES_PORT": str(port)}
        server = OwnPostgres(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/market_reaction", env)
        server.start()
        try:
            yield server
        finally:
            server.stop()
