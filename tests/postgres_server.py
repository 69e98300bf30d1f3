"""The real PostgreSQL server for store tests: started by the project's own script when it is not
already answering, stopped at the end only if this session started it. Each test gets a fresh
database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.helpers import listening

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_SCRIPT = ROOT / "deploy" / "local" / "postgres.sh"
HOST = "127.0.0.1"
PORT = int(os.environ.get("MR_TEST_POSTGRES_PORT", "15432"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The server's SQLAlchemy URL, without a database name."""
    started = False
    if not listening(f"{HOST}:{PORT}"):
        env = {**os.environ, "MR_POSTGRES_PORT": str(PORT)}
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "up"], check=True, env=env)
        started = True
    yield f"postgresql+asyncpg://postgres@{HOST}:{PORT}"
    if started:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "down"], check=True)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(host=HOST, port=PORT, user="postgres", database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database, dropped after the test (sync: it runs outside the test's loop)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"{postgres_server}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
