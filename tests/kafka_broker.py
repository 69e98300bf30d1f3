"""The real Kafka broker for integration tests: started by the project's own script when it is
not already answering, and stopped at the end only if this session started it. The topics of
this session's tests (`test-<run>.*`) are deleted at its end, so a shared broker does not keep
every run's records."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.ingest.topics import delete_scratch_topics, ensure_topics, service_topics
from services.settings import Settings
from tests.helpers import listening

ROOT = Path(__file__).resolve().parents[1]
KAFKA_SCRIPT = ROOT / "deploy" / "local" / "kafka.sh"
BOOTSTRAP = os.environ.get("MR_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
_RUNS: list[str] = []
"""This session's runs, whose topics (`test-<run>.*`) go at its end."""


def scratch_run() -> str:
    """A new run's id: its topics are to be named `test-<run>.*`, and go at the session's end."""
    run = uuid.uuid4().hex[:10]
    _RUNS.append(run)
    return run


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    started = False
    if not listening(BOOTSTRAP):
        subprocess.run(["bash", str(KAFKA_SCRIPT), "up"], check=True)
        started = True
    yield BOOTSTRAP
    if _RUNS:
        asyncio.run(delete_scratch_topics(BOOTSTRAP, [f"test-{run}." for run in _RUNS]))
    if started:
        subprocess.run(["bash", str(KAFKA_SCRIPT), "down"], check=True)


@pytest.fixture
async def kafka_settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings with fresh topics, consumer group and SQLite store, so tests never see each
    other."""
    run = scratch_run()
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        announcements_topic=f"test-{run}.announcements",
        prices_topic=f"test-{run}.prices",
        signals_topic=f"test-{run}.signals",
        group_id=f"test-{run}",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        ingest_poll_timeout_ms=50,
    )
    await ensure_topics(kafka_bootstrap, service_topics(settings))
    return settings
