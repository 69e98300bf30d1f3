"""The interfaces between ingest and what it feeds."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from services.events import Announcement
from services.frames import PRICE_SCHEMA

Recent = Sequence[Hashable] | pl.DataFrame
"""A dedupe window's identities, oldest first: as keys, or for prices as identity columns
(`PriceRow`'s fields), which a checkpoint stores without a Python object per key."""


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """The valid, deduplicated events of one poll, in the order they were read."""

    announcements: list[Announcement] = field(default_factory=list)
    prices: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PRICE_SCHEMA))
    arrived_ms: dict[str, int] = field(default_factory=dict)
    """The newest Kafka timestamp (epoch ms) of the batch's records per instrument (prices),
    or per announcement id: the record that triggered the revisions the batch causes."""

    def __len__(self) -> int:
        return len(self.announcements) + self.prices.height


class BatchSink(Protocol):
    """Takes ingest batches. Must be idempotent on event identity: a batch may be redelivered
    after a crash, since offsets are committed only once `accept` has returned."""

    async def accept(self, batch: IngestBatch) -> None: ...


class PartitionOwner(Protocol):
    """Told when partitions change hands between the members of a consumer group."""

    async def released(self, keys: set[str]) -> None:
        """Partitions were taken away; `keys` are the record keys seen on them."""
        ...

    async def acquired(self) -> None:
        """Partitions were assigned; called before any of their records is read."""
        ...


@dataclass(frozen=True, slots=True)
class PartitionPosition:
    """How far a partition's state goes: the first offset it does not include, the record keys
    it holds, and the identities of its most recent events (its dedupe window, oldest first)."""

    next_offset: int
    keys: frozenset[str]
    recent: Recent = ()


class PartitionCheckpoints(Protocol):
    """Saves and restores the sink's state per partition (services/live/checkpoints.py)."""

    def due(self) -> bool:
        """Counts a batch; true when the partitions' state should be saved after it."""
        ...

    async def restore(self, topic: str, partition: int) -> PartitionPosition | None:
        """Load the partition's saved state into the sink; None: read it from the start."""
        ...

    async def save(self, positions: dict[int, PartitionPosition], *, wait: bool = True) -> None:
        """Save the partitions' state as it is now; with `wait=False` it may be stored after
        returning (the state is taken before)."""
        ...
