"""Sorts one poll's records into valid new events, duplicates and dead letters (no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from services.ingest.decode import Rejection
from services.ingest.dedupe import RecentSet
from services.ingest.dlq import DeadLetter
from services.ingest.types import IngestBatch

E = TypeVar("E")


class RawRecord(Protocol):
    """The parts of a Kafka record that triage reads (aiokafka's ConsumerRecord has them)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def timestamp(self) -> int:
        """When the record reached Kafka: epoch milliseconds (create or log-append time)."""
        ...


@dataclass(slots=True)
class Triage(Generic[E]):
    valid: list[E] = field(default_factory=list)
    arrived_ms: list[int] = field(default_factory=list)
    """The Kafka timestamp of each valid event's record, in the same order."""
    dead: list[DeadLetter] = field(default_factory=list)
    duplicates: int = 0
    consumed: int = 0


@dataclass(frozen=True, slots=True)
class BatchTriage:
    """A poll's verdicts: its valid new events as the sink's batch, its dead letters, counts."""

    batch: IngestBatch
    dead: list[DeadLetter] = field(default_factory=list)
    duplicates: int = 0
    consumed: int = 0


DecodeAll = Callable[[Sequence[bytes | None]], "list[E | Rejection]"]
"""Record values to their events or rejections, in order, a batch at a time."""


def each(decode: Callable[[bytes | None], E | Rejection]) -> DecodeAll[E]:
    """A batch decoder that decodes record by record."""
    return lambda values: [decode(value) for value in values]


def triage(
    records: Sequence[RawRecord],
    decode_all: DecodeAll[E],
    identity: Callable[[E], Hashable],
    seen: RecentSet,
    check: Callable[[E], Rejection | None] | None = None,
) -> Triage[E]:
    """`check` judges each decoded event further (e.g. its time's plausibility)."""
    result: Triage[E] = Triage()
    decoded = decode_all([record.value for record in records])
    for record, event in zip(records, decoded, strict=True):
        result.consumed += 1
        if check is not None and not isinstance(event, Rejection):
            event = check(event) or event
        if isinstance(event, Rejection):
            result.dead.append(
                DeadLetter(
                    record.topic, record.partition, record.offset, record.key, record.value, event
                )
            )
        elif seen.add(identity(event), record.partition):
            result.valid.append(event)
            result.arrived_ms.append(record.timestamp)
        else:
            result.duplicates += 1
    return result
