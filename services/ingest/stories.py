"""One story per policy. The same policy arrives from several outlets minutes apart; the first
announcement of a story is `novel`, later ones are `echoes`: stored, shown with their story, but
kept from the engine, so a story gets one set of reactions (anchored at its first publication)
and statistics never count it twice.

Decided before announcements reach the engine, the same way live (`StorySink`, in topic order,
each batch in (published_at, id) order) and in `replay` (all in (published_at, id) order): an
announcement joins the earliest story that has the same issuer and action, the same rate,
overlapping targets and sectors, a first publication within the window, and a similar headline
(rapidfuzz token-set ratio)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz, utils

from services.events import Announcement
from services.ingest.types import BatchSink, IngestBatch
from services.settings import Settings
from services.store.batch import StoreBatch
from services.store.types import ReactionWriter


@dataclass(frozen=True, slots=True)
class StoryRules:
    window: timedelta = timedelta(hours=72)
    """Echoes are published at most this long after (or before) the story's first."""
    min_headline_similarity: float = 50.0
    """rapidfuzz token-set ratio (0-100) of the headlines, after lower-casing and stripping
    punctuation."""


def rules_from(settings: Settings) -> StoryRules:
    return StoryRules(window=timedelta(hours=settings.story_window_h))


def is_echo(announcement: Announcement) -> bool:
    return announcement.story_id is not None and announcement.story_id != announcement.id


def story_order(announcements: Iterable[Announcement]) -> list[Announcement]:
    return sorted(announcements, key=lambda a: (a.published_at, a.id))


StoryKey = tuple[str, str, float | None]
"""What every member of a story shares: issuer, action and rate."""


def story_key(a: Announcement) -> StoryKey:
    return (a.issuer, a.action, a.tariff_rate_pct)


class StoryBook:
    """Remembers the stories first published within two windows of the newest announcement
    (forgotten a window at a time), indexed by what their members must share."""

    def __init__(self, rules: StoryRules | None = None) -> None:
        self.rules = rules or StoryRules()
        self._decided: dict[str, Announcement] = {}
        self._stories: dict[StoryKey, list[Announcement]] = {}
        """Novel announcements by key, each list in the order they were decided."""
        self._oldest: datetime | None = None

    def __len__(self) -> int:
        """Stories remembered."""
        return sum(map(len, self._stories.values()))

    def classify(self, announcement: Announcement) -> Announcement:
        """The announcement with `story_id` and `first_seen_at` set; a repeat of an id gets
        the same answer as the first time."""
        decided = self._decided.get(announcement.id)
        if decided is not None:
            return decided
        candidates = self._stories.setdefault(story_key(announcement), [])
        story = next((s for s in candidates if self._same_story(s, announcement)), None)
        if story is None:
            decided = announcement.model_copy(
                update={"story_id": announcement.id, "first_seen_at": announcement.published_at}
            )
            candidates.append(decided)
            if self._oldest is None or decided.published_at < self._oldest:
                self._oldest = decided.published_at
        else:
            decided = announcement.model_copy(
                update={"story_id": story.id, "first_seen_at": story.published_at}
            )
        self._decided[announcement.id] = decided
        self._forget_before(announcement.published_at - 2 * self.rules.window)
        return decided

    def _same_story(self, story: Announcement, a: Announcement) -> bool:
        return (
            not set(story.targets).isdisjoint(a.targets)
            and not set(story.sectors).isdisjoint(a.sectors)
            and abs(a.published_at - story.published_at) <= self.rules.window
            and fuzz.token_set_ratio(story.headline, a.headline, processor=utils.default_process)
            >= self.rules.min_headline_similarity
        )

    def _forget_before(self, cutoff: datetime) -> None:
        # a window at a time, so that forgetting costs little per announcement; stories older
        # than two windows can match nothing published after the cutoff anyway
        if self._oldest is None or self._oldest >= cutoff - self.rules.window:
            return
        self._stories = {
            key: kept
            for key, stories in self._stories.items()
            if (kept := [s for s in stories if s.published_at >= cutoff])
        }
        self._decided = {
            k: v
            for k, v in self._decided.items()
            if v.first_seen_at is not None and v.first_seen_at >= cutoff
        }
        remaining = [s.published_at for stories in self._stories.values() for s in stories]
        self._oldest = min(remaining, default=None)


def split_stories(
    book: StoryBook, announcements: Sequence[Announcement]
) -> tuple[list[Announcement], list[Announcement]]:
    """(novel, echoes), each classified, in (published_at, id) order."""
    decided = [book.classify(a) for a in story_order(announcements)]
    return [a for a in decided if not is_echo(a)], [a for a in decided if is_echo(a)]


class StorySink:
    """Before the engine: echoes are written to the store and left out of the batch."""

    def __init__(self, inner: BatchSink, book: StoryBook, store: ReactionWriter) -> None:
        self._inner = inner
        self._book = book
        self._store = store

    async def accept(self, batch: IngestBatch) -> None:
        if not batch.announcements:
            await self._inner.accept(batch)
            return
        novel, echoes = split_stories(self._book, batch.announcements)
        if echoes:
            await self._store.write_batch(StoreBatch(announcements=echoes))
        await self._inner.accept(dataclasses.replace(batch, announcements=novel))
