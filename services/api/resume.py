"""A live stream that starts after a cursor: first the stored revisions after it, in order,
then live ones, with neither a gap nor a repeat at the seam."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from services.api.hub import AnnouncementTags, Message, Subscription, matches
from services.events import Announcement, Signal


class RevisionLog(Protocol):
    async def revisions_after(self, cursor: int, *, limit: int) -> list[Signal]: ...

    async def get_announcement(self, announcement_id: str) -> Announcement | None: ...


def tags_of(announcement: Announcement) -> AnnouncementTags:
    return AnnouncementTags(
        frozenset(announcement.targets), frozenset(announcement.sectors), announcement.action
    )


class TagCache:
    """Targets and sectors of recent announcements, for the live filters (bounded)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._tags: dict[str, AnnouncementTags] = {}

    def remember(self, announcements: list[Announcement]) -> None:
        for announcement in announcements:
            self._tags[announcement.id] = tags_of(announcement)
        while len(self._tags) > self._capacity:
            del self._tags[next(iter(self._tags))]

    def get(self, announcement_id: str) -> AnnouncementTags | None:
        return self._tags.get(announcement_id)

    async def load(self, announcement_id: str, log: RevisionLog) -> AnnouncementTags | None:
        tags = self.get(announcement_id)
        if tags is None:
            announcement = await log.get_announcement(announcement_id)
            if announcement is not None:
                self.remember([announcement])
                tags = tags_of(announcement)
        return tags


async def messages_after(
    subscription: Subscription,
    log: RevisionLog,
    tags: TagCache,
    cursor: int | None,
    *,
    page_size: int = 500,
) -> AsyncIterator[Message]:
    """`subscription` must be made before this starts, so that a revision committed while the
    log is read reaches it: the seam then drops what the log already gave (cursor <= last)."""
    last = cursor
    if last is not None:
        while True:
            page = await log.revisions_after(last, limit=page_size)
            for signal in page:
                assert signal.cursor is not None
                last = signal.cursor
                known = await tags.load(signal.announcement_id, log)
                if matches(subscription.where, signal, known):
                    yield Message.of(signal)
            if len(page) < page_size:
                break
    while True:
        message = await subscription.next()
        at = message.signal.cursor
        if last is not None and at is not None and at <= last:
            continue  # the log already gave it
        yield message
