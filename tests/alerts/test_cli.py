"""`market-reaction alerts test URL`: one signed sample, checked by a real receiver; refused
targets are refused before anything is sent."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import orjson

from services.settings import process_environment
from tests.alerts.receiver import Receiver, verify_signature
from tests.helpers import live_server

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_desk"


async def alerts_test(*args: str) -> tuple[int, str, str]:
    env = process_environment(alert_allowed_hosts=["127.0.0.1"])
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "alerts",
        "test",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_signed_sample_reaches_the_receiver() -> None:
    receiver = Receiver(clock=time.time)
    async with live_server(receiver.app()) as base:
        code, out, _ = await alerts_test(f"{base}/hook", "--secret", SECRET)
        slack_code, _, _ = await alerts_test(
            f"{base}/hook", "--secret", SECRET, "--format", "slack"
        )
    assert (code, slack_code) == (0, 0)
    assert "delivered: HTTP 200" in out
    sample, slack = receiver.requests
    now = int(time.time())
    assert verify_signature(SECRET, sample.signature, sample.body, now_s=now, tolerance_s=60)
    assert verify_signature(SECRET, slack.signature, slack.body, now_s=now, tolerance_s=60)
    assert orjson.loads(sample.body)["instrument"] == "KOSPI"
    assert orjson.loads(slack.body)["text"].startswith("KOSPI close reaction to sample is final")


async def test_a_target_inside_the_platform_is_refused() -> None:
    code, _, err = await alerts_test("http://169.254.169.254/latest/meta-data/")
    assert code == 2
    assert "169.254.169.254 is a link-local address" in err


async def test_a_failing_receiver_is_reported() -> None:
    receiver = Receiver(lambda key, attempt: (500, {}))
    async with live_server(receiver.app()) as base:
        code, _, err = await alerts_test(f"{base}/hook")
    assert code == 1
    assert "not delivered: HTTP 500: scripted" in err
    assert len(receiver.requests) == 1
