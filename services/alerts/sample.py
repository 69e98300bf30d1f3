"""`market-reaction alerts test URL`: one signed sample alert, so a desk can check its receiver
(signature, parsing) before subscribing it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from services.alerts.delivery import Attempt, DeliveryPolicy, post
from services.alerts.dispatcher import USER_AGENT, alert_client
from services.alerts.formats import AlertFormat, delivery_body
from services.alerts.signing import SIGNATURE_HEADER, signature
from services.alerts.targets import check_target
from services.events import Signal, signal_value

SAMPLE_ID = "sample"


def sample_signal() -> Signal:
    """The seed story's KOSPI close reaction to the July 2025 letter, marked as a sample."""
    anchor = datetime(2025, 7, 8, 0, 0, tzinfo=UTC)
    return Signal(
        signal_id=f"{SAMPLE_ID}|KOSPI|close|1",
        cursor=0,
        announcement_id=SAMPLE_ID,
        instrument="KOSPI",
        horizon="close",
        revision=1,
        final=True,
        anchor_at=anchor,
        base_price=3059.47,
        base_at=datetime(2025, 7, 7, 6, 30, tzinfo=UTC),
        last_price=3114.85,
        last_at=datetime(2025, 7, 8, 6, 30, tzinfo=UTC),
        return_pct=1.81,
        max_rise_pct=1.84,
        max_fall_pct=-0.12,
        peak_at=datetime(2025, 7, 8, 5, 10, tzinfo=UTC),
        time_to_peak_s=18600.0,
        gap_pct=0.35,
        baseline_mean_pct=0.05,
        baseline_std_pct=0.92,
        z_score=1.92,
        abnormal_return_pct=1.76,
        significant=False,
        direction="up",
        data_granularity="tick",
        emitted_at=datetime.now(UTC),
    )


async def send_sample(url: str, secret: str, fmt: AlertFormat, policy: DeliveryPolicy) -> Attempt:
    """Checked like a subscription's URL (raises `UnsafeTarget`), then sent once, signed."""
    await check_target(url, policy.allowed_hosts)
    body = delivery_body(fmt, signal_value(sample_signal()))
    now_s = time.time()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": f"{SAMPLE_ID}:{int(now_s)}",
        SIGNATURE_HEADER: signature(secret, body, t=int(now_s)),
    }
    async with alert_client(policy) as client:
        return await post(
            client, url, body, headers, max_bytes=policy.response_max_bytes, now_s=now_s
        )
