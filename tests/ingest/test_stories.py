"""One story per policy: which announcements are echoes of an earlier one, row by row, and the
same decisions whatever the order within a batch, live and in replay."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.demo.player import write_files
from services.demo.scenario import seed_story
from services.events import Announcement
from services.ingest.stories import StoryBook, StoryRules, is_echo, split_stories
from services.replay import run_replay
from services.store import open_store
from tests.factories import announcement

T0 = datetime(2025, 7, 7, 16, 4, tzinfo=UTC)
FIRST = "US letter sets a 25% tariff on all South Korean goods from 1 August"


def ann(id: str, *, minutes: float = 0, **fields: Any) -> Announcement:
    return announcement(id, T0 + timedelta(minutes=minutes), **{"headline": FIRST, **fields})


@pytest.mark.parametrize(
    ("later", "echo"),
    [
        (ann("wire", minutes=3, headline="US sets 25% tariff on Korean goods from August 1"), True),
        (ann("trump", minutes=9, headline="Trump: 25% tariff on all Korean goods"), True),
        (ann("both", minutes=5, targets=["JP", "KR"]), True),  # targets overlap
        (ann("edge", minutes=72 * 60), True),  # exactly at the end of the window
        (ann("late", minutes=72 * 60 + 1), False),  # just past it
        (ann("raise", minutes=5, action="raise"), False),
        (ann("rate", minutes=5, tariff_rate_pct=30.0), False),
        (ann("japan", minutes=5, targets=["JP"]), False),
        (ann("autos", minutes=5, sectors=["autos"]), False),
        (ann("eu", minutes=5, issuer="EU"), False),
        (
            ann("other", minutes=5, headline="Letter to the President of the Republic of Korea"),
            False,
        ),
    ],
)
def test_echo_or_new_story(later: Announcement, echo: bool) -> None:
    book = StoryBook()
    first = book.classify(ann("first"))
    decided = book.classify(later)
    assert (first.story_id, first.first_seen_at) == ("first", T0)
    assert is_echo(decided) is echo
    assert decided.story_id == ("first" if echo else later.id)
    assert decided.first_seen_at == (T0 if echo else later.published_at)


def test_a_repeat_gets_the_same_answer_and_echoes_join_the_earliest_story() -> None:
    book = StoryBook(StoryRules(window=timedelta(hours=72)))
    book.classify(ann("a"))
    book.classify(ann("b", minutes=80 * 60))  # a new story: past a's window
    echo = book.classify(ann("c", minutes=60 * 60))  # within both windows: the earliest wins
    assert echo.story_id == "a"
    assert book.classify(ann("c", minutes=60 * 60)) is echo


def test_old_stories_are_forgotten() -> None:
    book = StoryBook()
    for day in range(30):
        book.classify(ann(f"d{day}", minutes=day * 24 * 60, tariff_rate_pct=float(day)))
    assert len(book) <= 10  # two windows of three days, forgotten a window at a time


@settings(max_examples=50, deadline=None)
@given(st.permutations(range(6)))
def test_a_batch_is_decided_in_publication_order_whatever_its_arrival(order: list[int]) -> None:
    batch = [
        ann("first"),
        ann("wire", minutes=2, headline="US sets 25% tariff on Korean goods from August 1"),
        ann("japan", minutes=3, targets=["JP"]),
        ann("japan-echo", minutes=4, targets=["JP"], headline="25% tariff on Japan"),
        ann("tv", minutes=5, headline="Trump: 25% tariff on all Korean goods"),
        ann("rate", minutes=6, tariff_rate_pct=30.0),
    ]
    novel, echoes = split_stories(StoryBook(), [batch[i] for i in order])
    assert [a.id for a in novel] == ["first", "japan", "rate"]
    assert {a.id: a.story_id for a in echoes} == {
        "wire": "first",
        "japan-echo": "japan",
        "tv": "first",
    }


def test_replay_computes_one_story_once_and_backfills_its_echoes(tmp_path: Path) -> None:
    write_files(seed_story(seed=5), tmp_path)
    story = [
        ann("wh", headline="US letter: 25% tariff on all Korean goods from August 1"),
        ann("wire", minutes=3, headline="US sets 25% tariff on South Korean goods from August 1"),
        ann("tv", minutes=8, headline="Trump: 25% tariff on all Korean goods starting August 1"),
    ]
    announcements = tmp_path / "story.jsonl"
    announcements.write_text("".join(a.model_dump_json() + "\n" for a in reversed(story)))
    out = tmp_path / "reactions.jsonl"
    store = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"

    run_replay(
        str(announcements), str(tmp_path / "prices.jsonl"), str(out), store=store, progress=False
    )

    reactions = [json.loads(line) for line in out.read_text().splitlines()]
    assert reactions
    assert {r["announcement_id"] for r in reactions} == {"wh"}

    async def stored() -> list[Announcement | None]:
        async with await open_store(store) as opened:
            return [await opened.get_announcement(i) for i in ("wh", "wire", "tv")]

    assert [(a.id, a.story_id) for a in asyncio.run(stored()) if a] == [
        ("wh", "wh"),
        ("wire", "wh"),
        ("tv", "wh"),
    ]
