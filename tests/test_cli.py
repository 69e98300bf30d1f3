"""The command line as a user runs it: exit codes and messages."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import orjson

from services.events import Signal
from services.store import open_store
from services.store.filters import AnnouncementFilter, ReactionFilter


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


def test_replay_backfills_a_store_idempotently(tmp_path: Path) -> None:
    assert market_reaction("simulate", "--write", str(tmp_path)).returncode == 0
    url = f"sqlite+aiosqlite:///{tmp_path / 'backfill.db'}"
    out = tmp_path / "reactions.jsonl"
    args = [
        "replay",
        "--announcements",
        str(tmp_path / "announcements.jsonl"),
        "--prices",
        str(tmp_path / "prices.jsonl"),
        "--out",
        str(out),
        "--store",
        url,
        "--quiet",
    ]
    first = market_reaction(*args)
    assert first.returncode == 0, first.stderr
    stored = asyncio.run(_stored(url))
    replayed = {
        (r["instrument"], r["horizon"]): r for r in map(orjson.loads, out.read_bytes().splitlines())
    }
    again = market_reaction(*args)
    assert again.returncode == 0, again.stderr

    latest, revisions, announcements = stored
    assert announcements == ["us-kr-2025-07-07-letter"]
    assert {(s.instrument, s.horizon): s.model_dump(mode="json") for s in latest} == {
        key: {**r, "cursor": latest_cursor(latest, key)} for key, r in replayed.items()
    }
    assert revisions >= len(latest)
    assert asyncio.run(_stored(url)) == stored, "a second backfill changed the store"


def latest_cursor(latest: list[Signal], key: tuple[str, str]) -> int | None:
    return next(s.cursor for s in latest if (s.instrument, s.horizon) == key)


async def _stored(url: str) -> tuple[list[Signal], int, list[str]]:
    async with await open_store(url) as store:
        latest = await store.list_reactions(ReactionFilter(), after=None, limit=1000)
        revisions = len(await store.revisions_after(0, limit=100_000))
        announcements = [
            a.id for a in await store.list_announcements(AnnouncementFilter(), after=None, limit=10)
        ]
    return latest, revisions, announcements
