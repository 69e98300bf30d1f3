"""What the scenario tests compare: the reactions `replay` gives for a scenario, keyed by
reaction, without the fields that name a revision or its moment; and the store's after a live
run."""

from __future__ import annotations

from pathlib import Path

import orjson

from services.demo.player import write_files
from services.demo.scenario import Scenario
from services.events import Signal
from services.live.pipeline import latest_revisions
from services.replay import run_replay
from services.settings import Settings
from services.store import open_store

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


async def stored_log(settings: Settings) -> tuple[dict[Key, Signal], list[Signal]]:
    """The latest revision of every reaction, and the whole revision log in cursor order."""
    async with await open_store(settings.database_url) as store:
        latest = {reaction_key(s.model_dump()): s for s in await latest_revisions(store)}
        return latest, await store.revisions_after(0, limit=1_000_000)


async def assert_stored_as_replayed(
    settings: Settings, replay: dict[Key, dict[str, object]]
) -> None:
    """The store after a live run: each reaction's latest revision equals `replay`'s, no
    revision is stored twice, and each reaction's revisions are numbered 1..n with one first
    final, any later final a correction."""
    latest, log = await stored_log(settings)
    for key, replay_signal in replay.items():
        assert comparable(latest[key].model_dump(mode="json")) == comparable(replay_signal), key
    assert len({r.signal_id for r in log}) == len(log), "a revision was stored twice"
    async with await open_store(settings.database_url) as store:
        for announcement_id, instrument, horizon in replay:
            revisions = await store.revisions(str(announcement_id), str(instrument), str(horizon))
            numbers = [r.revision for r in revisions]
            assert numbers == list(range(1, len(numbers) + 1)), (instrument, horizon, numbers)
            finals = [r for r in revisions if r.final]
            assert finals, (instrument, horizon)
            assert not finals[0].corrected, (instrument, horizon)
            assert all(r.corrected for r in finals[1:]), (instrument, horizon)
