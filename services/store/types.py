"""The store's interfaces: what the engine writes, reloads at start-up, and what the API reads."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal, Protocol

import polars as pl

from services.events import Announcement, Signal
from services.store.batch import StoreBatch, WriteResult
from services.store.filters import (
    AnnouncementFilter,
    AnnouncementKey,
    GroupBy,
    Metric,
    ReactionFilter,
    ReactionKey,
)

StoredInterval = Literal["1m", "1d"]


class ReactionWriter(Protocol):
    async def write_batch(self, batch: StoreBatch) -> WriteResult:
        """Write a batch in one transaction; idempotent on event identity (`id`, bar time,
        `signal_id`). New revisions get cursors in commit order."""
        ...


class PublishOutbox(Protocol):
    """Revisions stored with `StoreBatch.hold_until_published` and not yet marked published."""

    async def unpublished(self, *, limit: int) -> list[Signal]:
        """The oldest `limit` of them, in cursor order."""
        ...

    async def mark_published(self, cursors: Collection[int]) -> None: ...


class HistoryReader(Protocol):
    """The queries behind the REST API."""

    async def get_announcement(self, announcement_id: str) -> Announcement | None: ...

    async def story(self, story_id: str) -> list[Announcement]:
        """The announcements of one story, first published first; empty if unknown."""
        ...

    async def list_announcements(
        self, where: AnnouncementFilter, *, after: AnnouncementKey | None, limit: int
    ) -> list[Announcement]: ...

    async def list_reactions(
        self, where: ReactionFilter, *, after: ReactionKey | None, limit: int
    ) -> list[Signal]:
        """Latest revisions in `ReactionKey` order, strictly after `after`."""
        ...

    async def reactions_of(self, announcement_id: str) -> list[Signal]: ...

    async def revisions(self, announcement_id: str, instrument: str, horizon: str) -> list[Signal]:
        """Every revision of one reaction, in cursor order."""
        ...

    async def revisions_after(self, cursor: int, *, limit: int) -> list[Signal]:
        """The revision log after `cursor`, in cursor order (for resuming live streams)."""
        ...

    async def reaction_values(
        self, where: ReactionFilter, *, group_by: GroupBy, metric: Metric
    ) -> pl.DataFrame:
        """Columns `group` (str) and `value` (f64), one row per reaction and group (a reaction
        counts once in each of its announcement's targets or sectors); null values left out."""
        ...

    async def bars(
        self, instrument: str, start: datetime, end: datetime, *, interval: StoredInterval
    ) -> pl.DataFrame:
        """Bars with `start <= ts < end`: columns ts, open, high, low, close, volume, by time."""
        ...

    async def reactions_as_of(
        self, where: ReactionFilter, as_of_us: int, *, after: ReactionKey | None, limit: int
    ) -> list[Signal]:
        """As `list_reactions`, each reaction at its latest revision emitted by `as_of_us`."""
        ...

    async def session_closes(
        self, instruments: Collection[str], *, as_of_us: int | None = None
    ) -> pl.DataFrame:
        """Stored session closes (instrument, session_close_us, close, observed_at_us)."""
        ...


class Store(ReactionWriter, PublishOutbox, HistoryReader, Protocol):
    async def ping(self) -> None:
        """Raise if the database does not answer."""
        ...

    async def close(self) -> None: ...
