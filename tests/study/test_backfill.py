"""A `replay --store` backfill keeps the session closes, so the store's study equals the files'."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.engine import load_registry
from services.replay import run_replay
from services.store import open_store
from services.study.files import study_files
from services.study.params import StudyParams
from services.study.sample import study_sample, write_sample
from services.study.stored import study_from_store

SAMPLE = study_sample(seed=9, sessions=220, events=6)


async def test_backfilled_store_gives_the_files_study(tmp_path: Path, store_url: str) -> None:
    anns, prices = write_sample(tmp_path, SAMPLE)
    # run_replay runs its own event loop for the store writes: run it off this one
    await asyncio.to_thread(
        run_replay,
        str(anns),
        str(prices),
        str(tmp_path / "r.jsonl"),
        store=store_url,
        progress=False,
    )
    params = StudyParams(model="market_model")
    expected = study_files(str(anns), str(prices), "005380.KS", params)
    assert expected.n >= 1
    async with await open_store(store_url) as store:
        got = await study_from_store(store, load_registry(), "005380.KS", params)
    assert got.as_dict() == expected.as_dict()
