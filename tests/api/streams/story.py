"""Drives the seed story through the real broker and reads the store's revision log back."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from services.demo.player import play
from services.demo.scenario import Scenario, seed_story
from services.events import Announcement, Price, Signal
from services.settings import Settings
from services.store import open_store
from tests.helpers import eventually, metric

STORY = seed_story()
ReactionKey = tuple[str, str, str]


def key(signal: Signal) -> ReactionKey:
    return signal.announcement_id, signal.instrument, signal.horizon


async def play_letter(
    settings: Settings,
    engine: httpx.AsyncClient,
    announcements: Sequence[Announcement] = STORY.announcements,
) -> None:
    """The letter (the story's announcements) first, as it happened, and consumed before any
    price."""
    await play(Scenario(list(announcements), [], []), settings, speedup=0, progress=False)

    async def consumed() -> bool:
        topic = settings.announcements_topic
        got = await metric(engine, "mr_events_consumed_total", topic=topic)
        return got == len(announcements)

    await eventually(consumed, what="the letter consumed")


async def play_prices(settings: Settings, prices: Sequence[Price]) -> None:
    await play(Scenario([], list(prices), []), settings, speedup=0, progress=False)


async def prices_consumed(settings: Settings, engine: httpx.AsyncClient) -> float:
    return await metric(engine, "mr_events_consumed_total", topic=settings.prices_topic)


async def stored_log(settings: Settings) -> list[Signal]:
    """Every stored revision, in cursor order, read by a store of the test's own."""
    store = await open_store(settings.database_url)
    try:
        return await store.revisions_after(0, limit=1_000_000)
    finally:
        await store.close()


async def story_settled(settings: Settings, engine: httpx.AsyncClient) -> list[Signal] | None:
    """The stored log once every price of the story was consumed and every reaction is final
    (nothing more will come); None before."""
    if await prices_consumed(settings, engine) < len(STORY.history) + len(STORY.live):
        return None
    log = await stored_log(settings)
    latest = {key(s): s for s in log}
    return log if latest and all(s.final for s in latest.values()) else None
