"""What the scenario tests compare: the reactions `replay` gives for a scenario, keyed by
reaction, without the fields that name a revision or its moment."""

from __future__ import annotations

from pathlib import Path

import orjson

from services.demo.player import write_files
from services.demo.scenario import Scenario
from services.replay import run_replay

Key = tuple[object, object, object]
RUN_DEPENDENT = {"signal_id", "revision", "cursor", "emitted_at"}
"""Fields that name a revision or its moment, not the reaction itself."""


def reaction_key(signal: dict[str, object]) -> Key:
    return signal["announcement_id"], signal["instrument"], signal["horizon"]


def comparable(signal: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in signal.items() if k not in RUN_DEPENDENT}


def replayed(scenario: Scenario, folder: Path) -> dict[Key, dict[str, object]]:
    """The scenario written as files to `folder` and replayed: the latest revision of each
    reaction, as JSON objects."""
    announcements, prices = write_files(scenario, folder)
    out = folder / "replayed.jsonl"
    run_replay(str(announcements), str(prices), str(out), progress=False)
    return {reaction_key(s): s for s in map(orjson.loads, out.read_bytes().splitlines())}
