"""A 202 means the broker has it: the service is killed (SIGKILL) right after answering and the
announcement is on the topic. The command line enters announcements the same way."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.api.auth import key_digest
from services.settings import Settings
from tests.helpers import kcat_consume
from tests.processes import ROOT, log_tail, service_env, start, wait_ready

pytestmark = pytest.mark.kafka

WRITE_KEY = "desk-write-0d41"


def writer_env(settings: Settings) -> dict[str, str]:
    return service_env(
        settings, "writer", MR_API_WRITE_KEYS_SHA256=json.dumps([key_digest(WRITE_KEY)])
    )


def topic_ids(settings: Settings) -> list[str]:
    records = kcat_consume(settings.kafka_bootstrap, settings.announcements_topic)
    return [json.loads(r["value"])["id"] for r in records]


async def test_an_answered_202_survives_a_kill(kafka_settings: Settings, tmp_path: Path) -> None:
    service = await start("api", "serve", writer_env(kafka_settings), tmp_path)
    try:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as http:
            await wait_ready(http, service)
            answer = await http.post(
                "/v1/announcements",
                json={
                    "id": "killed-after-202",
                    "published_at": "2025-07-07T16:04:00Z",
                    "targets": ["KR"],
                    "headline": "US letter: 25% on all Korean goods",
                },
                headers={"Authorization": f"Bearer {WRITE_KEY}"},
            )
            await service.kill()
    finally:
        await service.stop()
    assert answer.status_code == 202, log_tail(service.log)
    assert service.process.returncode == -signal.SIGKILL
    assert topic_ids(kafka_settings) == ["killed-after-202"]


def announce(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "announce", *args],
        env=writer_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_announce_from_flags_and_from_a_file(kafka_settings: Settings, tmp_path: Path) -> None:
    flags = (
        *("--id", "cli-kr-1", "--headline", "25% on all Korean goods from 1 August"),
        *("--targets", "KR", "--sectors", "autos", "--action", "impose", "--rate", "25"),
        *("--effective", "2025-08-01", "--published-at", "2025-07-07T16:04:00Z"),
    )
    first = announce(kafka_settings, *flags)
    again = announce(kafka_settings, *flags)
    changed = announce(kafka_settings, *flags[:-2], "--published-at", "2025-07-07T16:05:00Z")
    file = tmp_path / "a.json"
    file.write_text(
        json.dumps(
            {
                "id": "cli-jp-1",
                "published_at": "2025-07-07T16:10:00Z",
                "targets": ["JP"],
                "headline": "25% on Japanese goods",
            }
        )
    )
    from_file = announce(kafka_settings, "--file", str(file))
    invalid = announce(kafka_settings, "--headline", "no targets", "--id", "x")

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "accepted: cli-kr-1",
        "reactions: /v1/announcements/cli-kr-1",
        "live: /v1/signals/stream?target=KR",
    ]
    assert again.returncode == 0
    assert again.stdout.startswith("already entered: cli-kr-1")
    assert changed.returncode == 1
    assert "other content" in changed.stderr
    assert from_file.returncode == 0, from_file.stderr
    assert invalid.returncode == 2
    assert "targets" in invalid.stderr
    assert topic_ids(kafka_settings) == ["cli-kr-1", "cli-jp-1"]
