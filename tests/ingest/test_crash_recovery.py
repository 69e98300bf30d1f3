"""Kill the consumer process mid-stream, restart it: nothing accepted is lost or accepted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from services.settings import Settings
from tests.helpers import eventually, kcat_produce

pytestmark = pytest.mark.kafka

EVENTS = 40_000


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines() if path.exists() else []


def start_ingest(settings: Settings, out: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MR_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "MR_ANNOUNCEMENTS_TOPIC": settings.announcements_topic,
        "MR_PRICES_TOPIC": settings.prices_topic,
        "MR_GROUP_ID": settings.group_id,
        "MR_INGEST_MAX_RECORDS": "250",  # many small batches, so the kill lands between some
        "MR_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "services.cli", "ingest", "--to", str(out)]
    return subprocess.Popen(command, env=env)


async def test_kill_and_restart_loses_nothing_and_repeats_nothing(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "accepted.jsonl"
    values = [
        orjson.dumps(
            {"instrument": f"I{i % 5}", "ts": f"2025-07-08T00:00:{i % 60:02d}Z", "price": 1 + i}
        )
        for i in range(EVENTS)
    ]
    kcat_produce(kafka_settings.kafka_bootstrap, kafka_settings.prices_topic, values)

    first = start_ingest(kafka_settings, out)
    try:
        await eventually(lambda: len(lines(out)) >= 2_000, what="the first accepted batches")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    at_kill = len(lines(out))
    print(f"accepted before the kill: {at_kill} of {EVENTS}")
    assert at_kill < EVENTS, "the consumer finished before the kill; the test proved nothing"

    second = start_ingest(kafka_settings, out)
    try:
        await eventually(lambda: len(lines(out)) >= EVENTS, timeout_s=120, what="all events")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0

    accepted = lines(out)
    prices = sorted(orjson.loads(line)["price"] for line in accepted)
    assert len(accepted) == EVENTS, "an event was accepted twice"
    assert prices == [float(1 + i) for i in range(EVENTS)], "an accepted event was lost"
