"""A 202 means the broker has it: the service is killed (SIGKILL) right after answering and the
announcement is on the topic. The command line enters announcements the same way."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.api.auth import key_digest
from services.settings import Settings
from tests.helpers import eventually, free_port, kcat_consume

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]
WRITE_KEY = "desk-write-0d41"


def service_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MR_")}
    env.update(
        MR_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        MR_ANNOUNCEMENTS_TOPIC=settings.announcements_topic,
        MR_PRICES_TOPIC=settings.prices_topic,
        MR_SIGNALS_TOPIC=settings.signals_topic,
        MR_GROUP_ID=settings.group_id,
        MR_DATABASE_URL=settings.database_url,
        MR_API_WRITE_KEYS_SHA256=json.dumps([key_digest(WRITE_KEY)]),
    )
    return env


def topic_ids(settings: Settings) -> list[str]:
    records = kcat_consume(settings.kafka_bootstrap, settings.announcements_topic)
    return [json.loads(r["value"])["id"] for r in records]


async def test_an_answered_202_survives_a_kill(kafka_settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "services.cli", "serve", "--role", "api", "--port", str(port)),
            cwd=ROOT,
            env=service_env(kafka_settings),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as http:

            async def up() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(up, timeout_s=60, what="the service to answer")
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
            process.send_signal(signal.SIGKILL)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    assert answer.status_code == 202, (tmp_path / "serve.log").read_text()
    assert process.returncode == -signal.SIGKILL
    assert topic_ids(kafka_settings) == ["killed-after-202"]


def announce(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "announce", *args],
        env=service_env(settings),
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
