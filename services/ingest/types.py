"""The interfaces between ingest and what it feeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from services.events import Announcement
from services.frames import PRICE_SCHEMA


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
