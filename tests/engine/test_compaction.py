"""History older than the current session is summarised to 1-minute and daily bars; the open
windows do not notice."""

from __future__ import annotations

from pathlib import Path

import orjson

from services.demo.player import write_files
from services.demo.scenario import seed_story
from services.engine import EngineConfig
from services.replay import run_replay


def reactions(folder: Path, config: EngineConfig, name: str) -> list[dict[str, object]]:
    announcements, prices = folder / "announcements.jsonl", folder / "prices.jsonl"
    out = folder / name
    run_replay(str(announcements), str(prices), str(out), progress=False, config=config)
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    for row in rows:
        row.pop("emitted_at")
    return rows


def test_compacting_history_often_changes_no_reaction(tmp_path: Path) -> None:
    write_files(seed_story(), tmp_path)
    kept = reactions(tmp_path, EngineConfig(), "kept.jsonl")
    # ~2,300 ticks per instrument and session: compaction runs several times per session
    compacted = reactions(tmp_path, EngineConfig(compact_rows=500), "compacted.jsonl")
    assert len(kept) == 15
    assert compacted == kept
