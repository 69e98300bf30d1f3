"""The command line as a user runs it: exit codes and messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson


def market_reaction(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_simulate_writes_files_that_replay_turns_into_final_reactions(tmp_path: Path) -> None:
    written = market_reaction("simulate", "--write", str(tmp_path))
    assert written.returncode == 0, written.stderr
    out = tmp_path / "reactions.jsonl"
    replayed = market_reaction(
        "replay",
        "--announcements",
        str(tmp_path / "announcements.jsonl"),
        "--prices",
        str(tmp_path / "prices.jsonl"),
        "--out",
        str(out),
        "--quiet",
    )
    assert replayed.returncode == 0, replayed.stderr
    reactions = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    kospi_close = next(
        r for r in reactions if r["instrument"] == "KOSPI" and r["horizon"] == "close"
    )
    assert kospi_close["final"] is True
    assert round(kospi_close["max_rise_pct"], 2) == 1.84  # the seed story's "as much as 1.8%"
    assert kospi_close["anchor_at"] == "2025-07-08T00:00:00Z"  # 09:00 in Seoul


def test_replay_names_the_bad_line_and_exits_2(tmp_path: Path) -> None:
    announcements = tmp_path / "a.jsonl"
    announcements.write_text('{"id": "x", "published_at": "yesterday"}\n')
    prices = tmp_path / "p.jsonl"
    prices.write_text("")
    result = market_reaction(
        "replay", "--announcements", str(announcements), "--prices", str(prices), "--quiet"
    )
    assert result.returncode == 2
    assert f"{announcements}:1:" in result.stderr
    assert "Traceback" not in result.stderr
