"""A delivery's body: `json` is the signal exactly as the live stream sends it; `slack` is a
Slack-compatible incoming-webhook message."""

from __future__ import annotations

from typing import Literal

import orjson

from services.events import Signal

AlertFormat = Literal["json", "slack"]


def slack_text(signal: Signal) -> str:
    state = (
        "corrected"
        if signal.corrected
        else "final"
        if signal.final
        else f"provisional (rev {signal.revision})"
    )
    z = "n/a" if signal.z_score is None else f"{signal.z_score:.1f}"
    return (
        f"{signal.instrument} {signal.horizon} reaction to {signal.announcement_id} is {state}: "
        f"{signal.return_pct:+.2f}%, z {z}"
    )


def delivery_body(fmt: AlertFormat, signal_json: bytes) -> bytes:
    """`signal_json`: the signal as the outbox holds it (the live stream's encoding)."""
    if fmt == "json":
        return signal_json
    return orjson.dumps({"text": slack_text(Signal.model_validate_json(signal_json))})
