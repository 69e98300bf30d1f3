"""One story per policy: which announcements are echoes of an earlier one, row by row, and the
same decisions whatever the order within a batch, live and in replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.events import Announcement
from services.stories import StoryBook, StoryRules, is_echo, split_stories

T0 = datetime(2025, 7, 7, 16, 4, tzinfo=UTC)
FIRST = "US letter sets a 25% tariff on all South Korean goods from 1 August"


def ann(id: str, *, minutes: float = 0, **fields: Any) -> Announcement:
    return Announcement.model_validate(
        {
            "id": id,
            "published_at": T0 + timedelta(minutes=minutes),
            "targets": ["KR"],
            "sectors": ["all"],
            "action": "impose",
            "tariff_rate_pct": 25.0,
            "headline": FIRST,
            **fields,
        }
    )


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
    assert len(book) <= 7  # two windows of three days, and the newest


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
