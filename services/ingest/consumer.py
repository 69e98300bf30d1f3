"""A batched, at-least-once Kafka consumer: poll, triage, hand to the sink, dead-letter, commit.

With `replay_on_assign`, a partition assigned is read again from its checkpoint's offset or the
start of its retention (README, How it fits together), and the keys seen on partitions taken
away are handed to the `PartitionOwner` so it forgets them. aiokafka rebalances eagerly: every
rebalance revokes all partitions and assigns them anew."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from itertools import chain, repeat
from operator import attrgetter
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from services.ingest.decode import RejectReason, decode_announcement
from services.ingest.dedupe import DedupeWindow, RecentSet, announcement_identity
from services.ingest.dlq import dlq_topic, send_dead_letters
from services.ingest.metrics import IngestMetrics
from services.ingest.outages import Outages, kafka_transient, retrying
from services.ingest.plausibility import EventTimeBounds, WallClock, system_wall_clock
from services.ingest.pricetriage import triage_prices
from services.ingest.recentrows import RecentRows
from services.ingest.triage import BatchTriage, RawRecord, each, triage
from services.ingest.types import (
    BatchSink,
    IngestBatch,
    PartitionCheckpoints,
    PartitionOwner,
    PartitionPosition,
)

log = logging.getLogger(__name__)
_KEY = attrgetter("key")

W = TypeVar("W", bound=DedupeWindow)


@dataclass(frozen=True, slots=True)
class TriagePoll(Generic[W]):
    """How a topic's polls are judged: a poll's records, the dedupe window and the
    plausibility bounds to verdicts; and the dedupe window it keeps (of a capacity)."""

    triage: Callable[[Sequence[RawRecord], W, EventTimeBounds], BatchTriage]
    window: Callable[[int], W]


def _newest(keys: Iterable[str], arrived_ms: list[int]) -> dict[str, int]:
    newest: dict[str, int] = {}
    for key, ms in zip(keys, arrived_ms, strict=True):
        if ms > newest.get(key, -1):
            newest[key] = ms
    return newest


def _triage_announcements(
    records: Sequence[RawRecord], seen: RecentSet, bounds: EventTimeBounds
) -> BatchTriage:
    result = triage(
        records, each(decode_announcement), announcement_identity, seen, bounds.check_announcement
    )
    return BatchTriage(
        IngestBatch(
            announcements=result.valid,
            arrived_ms=_newest((e.id for e in result.valid), result.arrived_ms),
        ),
        result.dead,
        result.duplicates,
        result.consumed,
    )


@dataclass(frozen=True, slots=True)
class _Triaged:
    result: BatchTriage
    window_mark: int
    """The dedupe window's mark once the poll's identities were added."""
    rebalances: int
    """Rebalances begun before the poll was triaged."""


@dataclass(slots=True)
class _Accepted:
    """Batches accepted and not yet committed, merged: a partition's later offset covers its
    earlier ones."""

    batches: int = 0
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    consumed: int = 0
    duplicates: int = 0

    def add(self, offsets: dict[TopicPartition, int], result: BatchTriage) -> None:
        self.batches += 1
        self.offsets.update(offsets)
        self.consumed += result.consumed
        self.duplicates += result.duplicates


BATCHES_AHEAD_OF_COMMIT = 8
"""Batches accepted while one commit is in flight, at most: past them, the poll loop waits for
it (a broker that is slow to commit, or a commit being retried, holds the path back, and a
crash meanwhile reads no more than this again)."""

ANNOUNCEMENTS: TriagePoll[RecentSet] = TriagePoll(_triage_announcements, RecentSet)
PRICES: TriagePoll[RecentRows] = TriagePoll(triage_prices, RecentRows)


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    bootstrap_servers: str
    group_id: str
    max_records: int = 50_000
    poll_timeout_ms: int = 200
    dedupe_capacity: int = 200_000
    client_id: str = "market-reaction"
    replay_on_assign: bool = False
    """Read every newly assigned partition from the start of its retention."""
    group_instance_id: str | None = None
    """Static membership: this member's stable identity in its group (None: dynamic)."""
    session_timeout_ms: int = 10_000
    max_ahead_of_watermark: timedelta | None = None
    max_ahead_of_wall_clock: timedelta | None = None
    """Event-time plausibility (`services.ingest.plausibility`); None: no bound."""
    lag_interval_s: float = 5.0
    """How often lag is measured from the broker's end offsets, even while a batch waits."""


def consumer_options(config: ConsumerConfig) -> dict[str, Any]:
    """The AIOKafkaConsumer arguments of a consumer of the service."""
    return {
        "bootstrap_servers": config.bootstrap_servers,
        "group_id": config.group_id,
        "group_instance_id": config.group_instance_id,
        "session_timeout_ms": config.session_timeout_ms,
        "client_id": config.client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
    }


class TopicConsumer:
    """Reads one topic. Offsets are committed only after the sink accepted the batch and every
    dead letter of it was acknowledged by the broker, so a crash loses nothing accepted."""

    def __init__(
        self,
        topic: str,
        kind: TriagePoll[Any],
        config: ConsumerConfig,
        sink: BatchSink,
        dlq_producer: AIOKafkaProducer,
        metrics: IngestMetrics,
        owner: PartitionOwner | None = None,
        checkpoints: PartitionCheckpoints | None = None,
        *,
        outages: Outages | None = None,
        wall_clock: WallClock = system_wall_clock,
    ) -> None:
        """`owner` hears of rebalances (with `replay_on_assign` only: without a replay, a
        forgotten key could not be rebuilt). With `checkpoints` too, an assigned partition is
        read from its checkpoint's offset when one loads, from the start otherwise. `outages`
        hears of dead-letter and commit failures while they are retried."""
        self.topic = topic
        self._kind = kind
        self._config = config
        self._sink = sink
        self._dlq = dlq_producer
        self._metrics = metrics
        self._seen: DedupeWindow = kind.window(config.dedupe_capacity)
        """The dedupe window, each identity tagged with its partition."""
        self._bounds = EventTimeBounds(
            max_ahead_of_watermark=config.max_ahead_of_watermark,
            max_ahead_of_wall_clock=config.max_ahead_of_wall_clock,
            wall_clock=wall_clock,
        )
        self.outages = outages or Outages()
        self._consumer: AIOKafkaConsumer | None = None
        self._owner = owner if config.replay_on_assign else None
        self._checkpoints = checkpoints if self._owner is not None else None
        self._next: dict[TopicPartition, int] = {}
        """The next offset to hand to the sink, per partition (known once read or restored)."""
        self._state_lock = asyncio.Lock()
        self._torn = False
        """A batch was interrupted between the sink and its offsets: no checkpoint now."""
        self._covered = 0
        """The dedupe window's mark after the last batch whose offsets are recorded: a
        checkpoint saves only the identities before it (the next poll is triaged while the
        last batch's offsets are committed, and a rebalance's checkpoint may come between)."""
        self._rebalances = 0
        self._accepted = _Accepted()
        self._committing: asyncio.Task[None] | None = None
        """One commit at a time, of every batch accepted before it started: the poll loop
        never waits for the broker's answer to the last one (a round trip, longer than a
        batch on a loaded broker)."""
        self._keys: dict[TopicPartition, set[bytes]] = {}
        """Record keys seen per partition since it was assigned (the owner's instruments)."""
        self.lag: dict[int, int] = {}
        # every series exists from the start, so dashboards and rate() see zeros, not gaps
        metrics.consumed.labels(topic)
        metrics.duplicate.labels(topic)
        for reason in RejectReason:
            metrics.rejected.labels(topic, reason.value)

    @property
    def assigned(self) -> bool:
        return bool(self.partitions)

    @property
    def partitions(self) -> list[int]:
        """The partitions this member holds now (lag is known only once a fetch answered)."""
        if self._consumer is None:
            return []
        return sorted(tp.partition for tp in self._consumer.assignment())

    async def run(self) -> None:
        """Consume until cancelled."""
        consumer = AIOKafkaConsumer(**consumer_options(self._config))
        consumer.subscribe([self.topic], listener=_Rebalance(self, consumer))
        await consumer.start()
        self._consumer = consumer
        lag = asyncio.create_task(self._measure_lag(consumer), name=f"lag {self.topic}")
        try:
            while True:
                polled = await consumer.getmany(
                    timeout_ms=self._config.poll_timeout_ms, max_records=self._config.max_records
                )
                if not polled:
                    await self._settled()
                    await self._observe_lag(consumer)
                    continue
                # read and triaged while the last batches' offsets are committed
                triaged = self._triage(polled)
                offsets = await self._hand_over(consumer, polled, triaged)
                if offsets is None:
                    continue
                self._accepted.add(offsets, triaged.result)
                if self._accepted.batches > BATCHES_AHEAD_OF_COMMIT:
                    await self._settled()  # a slow or retried commit holds later batches
                if self._accepted.batches and (self._committing is None or self._committing.done()):
                    await self._settled()  # a failure of the last commit is raised here
                    self._committing = asyncio.create_task(
                        self._commit_accepted(consumer), name=f"commit {self.topic}"
                    )
                if self._checkpoints is not None and self._checkpoints.due():
                    await self._settled()
                    await self._save_checkpoints(list(consumer.assignment()), wait=False)
                await self._observe_lag(consumer)
        finally:
            lag.cancel()
            committing, self._committing = self._committing, None
            if committing is not None:  # at shutdown: read again after the next start
                committing.cancel()
                await asyncio.gather(committing, return_exceptions=True)
            self._consumer = None
            if self._checkpoints is not None:  # the next start reads from here
                await self._save_checkpoints(list(consumer.assignment()))
            await consumer.stop()

    async def _revoked(self, revoked: list[TopicPartition]) -> None:
        self._rebalances += 1
        if self._checkpoints is not None:
            # the next owner (maybe this member again) starts from here
            await self._save_checkpoints(revoked)
        keys: set[bytes] = set()
        for tp in revoked:
            self._next.pop(tp, None)
            keys |= self._keys.pop(tp, set())
            # the partition's lag is its next owner's to report now
            if self.lag.pop(tp.partition, None) is not None:
                self._metrics.lag.remove(tp.topic, str(tp.partition))
        if self._owner is not None and keys:
            await self._owner.released({k.decode(errors="replace") for k in keys})

    async def _assigned(self, consumer: AIOKafkaConsumer, assigned: list[TopicPartition]) -> None:
        if not self._config.replay_on_assign or not assigned:
            return
        # nothing from the committed position may reach the sink before the replay starts:
        # it would move the watermark ahead and make the replayed records late
        consumer.pause(*assigned)
        try:
            # replayed records are not duplicates: the sink forgot (or never had) their effect
            self._seen = self._kind.window(self._config.dedupe_capacity)
            self._bounds.reset()
            from_start = await self._restore_checkpoints(consumer, assigned)
            self._covered = self._seen.mark()
            if from_start:
                await consumer.seek_to_beginning(*from_start)
        finally:
            consumer.resume(*assigned)
        log.info(
            "%s: replaying %d of %d partitions from the start",
            self.topic,
            len(from_start),
            len(assigned),
        )

    async def _restore_checkpoints(
        self, consumer: AIOKafkaConsumer, assigned: list[TopicPartition]
    ) -> list[TopicPartition]:
        """Seek each partition whose checkpoint loads to its offset; returns the others. Runs
        before the owner restores the revisions sent (they may be newer than a checkpoint)."""
        if self._checkpoints is None:
            if self._owner is not None:
                await self._owner.acquired()
            return assigned
        from_start: list[TopicPartition] = []
        for tp in assigned:
            position = await self._checkpoints.restore(tp.topic, tp.partition)
            if position is None:
                from_start.append(tp)
                continue
            consumer.seek(tp, position.next_offset)
            self._next[tp] = position.next_offset
            # what the checkpoint had seen is still seen: a duplicate of it is dropped
            self._seen.add_all(position.recent, repeat(tp.partition, len(position.recent)))
            self._keys[tp] = {k.encode() for k in position.keys}
        if self._owner is not None:
            await self._owner.acquired()
        return from_start

    async def _save_checkpoints(
        self, partitions: list[TopicPartition], *, wait: bool = True
    ) -> None:
        """Save the partitions' state unless a batch was cut short between the sink and its
        offsets (then the next owner reads from the previous checkpoint). A failure is logged:
        a checkpoint only shortens the next assignment's reading. With `wait=False` (the
        periodic save) it may be stored while the next batches are read."""
        assert self._checkpoints is not None
        async with self._state_lock:
            if self._torn:
                log.warning("%s: a batch was interrupted, no checkpoint saved", self.topic)
                return
            positions = {
                tp.partition: PartitionPosition(
                    self._next[tp],
                    frozenset(k.decode(errors="replace") for k in self._keys.get(tp, ())),
                    self._seen.tagged(tp.partition, before=self._covered),
                )
                for tp in partitions
                if tp in self._next
            }
            try:
                await self._checkpoints.save(positions, wait=wait)
            except Exception:
                log.exception("%s: checkpoints not saved", self.topic)

    def _triage(self, polled: dict[TopicPartition, list[Any]]) -> _Triaged:
        records = list(chain.from_iterable(polled.values()))
        if self._owner is not None:
            for tp, batch in polled.items():
                keys = self._keys.setdefault(tp, set())
                keys.update(map(_KEY, batch))
                keys.difference_update((None, b""))  # unkeyed records name no instrument
        result = self._kind.triage(records, self._seen, self._bounds)
        return _Triaged(result, self._seen.mark(), self._rebalances)

    def _stale(self, triaged: _Triaged) -> bool:
        """A poll triaged before a rebalance began (it waited for the rebalance's checkpoint)
        that replays what it assigns: its records are read again from the checkpoint or the
        start (and judged by a new dedupe window), so handing it over too would give them to
        the sink twice. Without a replay it is handed over, as a batch the rebalance caught
        in the sink is, and only owned offsets committed."""
        if self._owner is None or triaged.rebalances == self._rebalances:
            return False
        log.info("%s: a poll read before a rebalance is dropped (read again)", self.topic)
        return True

    async def _hand_over(
        self,
        consumer: AIOKafkaConsumer,
        polled: dict[TopicPartition, list[Any]],
        triaged: _Triaged,
    ) -> dict[TopicPartition, int] | None:
        """Hand the batch to the sink and dead-letter its rejects; returns the offsets to
        commit then (those of partitions still owned), or None for a stale poll."""
        result = triaged.result
        offsets = {tp: batch[-1].offset + 1 for tp, batch in polled.items()}
        # a checkpoint sees the sink's state and these offsets together, or neither
        async with self._state_lock:
            if self._stale(triaged):
                return None
            self._torn = True
            if len(result.batch):
                await self._sink.accept(result.batch)
            if result.dead:
                await self._retry_kafka(
                    dlq_topic(self.topic),
                    partial(
                        send_dead_letters,
                        self._dlq,
                        self.topic,
                        result.dead,
                        self._metrics.rejected,
                    ),
                )
            # a rebalance during the batch may have taken partitions away: their next owner
            # starts from its checkpoint or the start, and only owned ones are committed
            offsets = {tp: o for tp, o in offsets.items() if tp in consumer.assignment()}
            self._next.update(offsets)
            self._covered = triaged.window_mark
            self._torn = False
        return offsets

    async def _settled(self) -> None:
        """Wait until every batch accepted is committed (a failure is raised here)."""
        committing, self._committing = self._committing, None
        if committing is not None:
            await committing

    async def _commit_accepted(self, consumer: AIOKafkaConsumer) -> None:
        """Commit what was accepted, again while batches were accepted meanwhile (in order)."""
        while self._accepted.batches:
            accepted, self._accepted = self._accepted, _Accepted()
            await self._commit(consumer, accepted)

    async def _commit(self, consumer: AIOKafkaConsumer, accepted: _Accepted) -> None:
        offsets = accepted.offsets

        async def commit_owned() -> None:
            # owned as the call is made: a rebalance after the batch was handed over (while an
            # earlier commit or a retry waited) may have taken partitions away, and committing
            # one not assigned fails (the consumer would stop reading for good)
            owned = {tp: o for tp, o in offsets.items() if tp in consumer.assignment()}
            if owned:
                await consumer.commit(owned)

        try:
            if offsets:
                await self._retry_kafka(f"{self.topic} commit", commit_owned)
        except CommitFailedError:
            # the group is rebalancing: offsets still owned are committed with the next batch
            log.info("%s: offsets not committed, the group rebalanced meanwhile", self.topic)
        self._metrics.consumed.labels(self.topic).inc(accepted.consumed)
        if accepted.duplicates:
            self._metrics.duplicate.labels(self.topic).inc(accepted.duplicates)

    async def _retry_kafka(self, dependency: str, call: Callable[[], Awaitable[object]]) -> None:
        await retrying(call, dependency=dependency, outages=self.outages, transient=kafka_transient)

    async def _measure_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Lag from the broker's end offsets, on its own timer: it keeps growing while a batch
        waits for the store or the broker (the poll loop is blocked then)."""
        while True:
            await asyncio.sleep(self._config.lag_interval_s)
            assigned = list(consumer.assignment())
            if not assigned:
                continue
            try:
                ends = await consumer.end_offsets(assigned)
                for tp, end in ends.items():
                    if tp in consumer.assignment():
                        self._set_lag(tp, max(0, end - await consumer.position(tp)))
            except (KafkaError, OSError, IllegalStateError) as exc:
                log.debug("%s: lag not measured: %r", self.topic, exc)

    def _set_lag(self, tp: TopicPartition, lag: int) -> None:
        self.lag[tp.partition] = lag
        self._metrics.lag.labels(tp.topic, str(tp.partition)).set(lag)

    async def _observe_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            self._set_lag(tp, max(0, highwater - await consumer.position(tp)))


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: TopicConsumer, consumer: AIOKafkaConsumer) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._owner._revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._owner._assigned(self._consumer, assigned)
