"""The next poll is read and triaged while the last batch's offsets are committed, so its
identities are in the dedupe window before its own offsets are recorded. A checkpoint saved
in between (a rebalance's, which may take the state lock first) must hold only what its offset
covers: with the next poll's identities in it, a restart from it would drop that poll's
records as duplicates."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import polars as pl
from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from services.ingest.consumer import PRICES, ConsumerConfig, TopicConsumer
from services.ingest.metrics import IngestMetrics
from services.ingest.types import IngestBatch, PartitionPosition

TP = TopicPartition("market.prices", 0)
FIRST_US, SECOND_US = 1_751_936_400_000_000, 1_751_936_401_000_000


@dataclass(frozen=True)
class Record:
    value: bytes
    offset: int
    partition: int = 0
    topic: str = "market.prices"
    key: bytes = b"KOSPI"
    timestamp: int = 0


def poll(offset: int, ts: str) -> dict[TopicPartition, list[Record]]:
    value = orjson.dumps({"instrument": "KOSPI", "ts": ts, "price": 100.0})
    return {TP: [Record(value, offset)]}


class Assigned:
    """The one thing the hand-over asks of aiokafka's consumer: what it owns."""

    def assignment(self) -> set[TopicPartition]:
        return {TP}


class Sink:
    def __init__(self) -> None:
        self.batches: list[IngestBatch] = []

    async def accept(self, batch: IngestBatch) -> None:
        self.batches.append(batch)


class Owner:
    async def released(self, keys: set[str]) -> None:
        pass

    async def acquired(self) -> None:
        pass


class Checkpoints:
    def __init__(self) -> None:
        self.saved: dict[int, PartitionPosition] = {}

    def due(self) -> bool:
        return False

    async def restore(self, topic: str, partition: int) -> PartitionPosition | None:
        return None

    async def save(self, positions: dict[int, PartitionPosition], *, wait: bool = True) -> None:
        self.saved.update(positions)


def saved_times(position: PartitionPosition) -> list[int]:
    assert isinstance(position.recent, pl.DataFrame)
    return position.recent["ts"].to_list()


async def test_a_checkpoint_between_a_poll_and_its_hand_over_holds_only_what_it_covers() -> None:
    sink, checkpoints = Sink(), Checkpoints()
    config = ConsumerConfig("unused:9092", "group", replay_on_assign=True)
    metrics = IngestMetrics.create(CollectorRegistry())
    consumer = TopicConsumer(
        TP.topic,
        PRICES,
        config,
        sink,
        None,
        metrics,
        Owner(),
        checkpoints,
    )
    kafka = Assigned()
    first = poll(0, "2025-07-08T01:00:00Z")
    offsets = await consumer._hand_over(kafka, first, consumer._triage(first))
    assert offsets == {TP: 1}

    second = poll(1, "2025-07-08T01:00:01Z")
    triaged = consumer._triage(second)  # its identity is in the window from here
    await consumer._save_checkpoints([TP])
    assert checkpoints.saved[0].next_offset == 1
    assert saved_times(checkpoints.saved[0]) == [FIRST_US]

    await consumer._hand_over(kafka, second, triaged)
    await consumer._save_checkpoints([TP])
    assert checkpoints.saved[0].next_offset == 2
    assert saved_times(checkpoints.saved[0]) == [FIRST_US, SECOND_US]
    assert [b.prices.height for b in sink.batches] == [1, 1]
