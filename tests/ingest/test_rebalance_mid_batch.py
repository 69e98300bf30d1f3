"""A rebalance while a batch is in the sink, or after it was handed over and before its offsets
are committed: the batch's partitions may belong to another member by then. The consumer
commits only what it still owns and goes on; it used to fail on the commit and stop reading for
good (a replica that never caught up)."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from tests.helpers import eventually
from tests.ingest.helpers import reading
from tests.ingest.test_static_membership import member


async def test_a_batch_whose_partition_moved_meanwhile_does_not_stop_the_consumer(
    kafka_bootstrap: str,
) -> None:
    async with reading(kafka_bootstrap, 2, hold_batch=True) as r:
        sink, consumer = r.sink, r.consumer
        # one record on each partition: the first batch holds both
        for partition in (0, 1):
            await r.send(partition, 0)
        await asyncio.wait_for(sink.holding.wait(), timeout=60)
        async with member(r.config, r.topic) as other:
            # the group rebalanced while the batch waits: the other member took one partition
            await eventually(lambda: len(other.partitions) == 1, timeout_s=60, what="a split")
            sink.release.set()
            await eventually(
                lambda: len(consumer.partitions) == 1, timeout_s=30, what="this member's share"
            )
            # still reading: a new record on the partition it kept reaches the sink
            (partition,) = consumer.partitions
            before = sink.prices
            await r.send(partition, 1)

            async def read_on() -> bool:
                r.still_reading()
                return sink.prices > before

            await eventually(read_on, timeout_s=60, what="the next record read")


async def test_a_partition_moved_between_hand_over_and_commit_is_not_committed(
    kafka_bootstrap: str,
) -> None:
    async with reading(kafka_bootstrap, 2, hold_commits=True) as r:
        sink, consumer = r.sink, r.consumer
        for partition in (0, 1):
            await r.send(partition, 0)
        # both records handed over (in one batch or two) and no commit started: whichever
        # partition the rebalance moves, a batch's offsets waiting for their commit hold it
        await eventually(
            lambda: sink.prices == 2 and consumer.holding.is_set(),
            timeout_s=60,
            what="both records handed over, a commit held",
        )
        async with member(r.config, r.topic) as other:
            await eventually(
                lambda: len(other.partitions) == len(consumer.partitions) == 1,
                timeout_s=60,
                what="a split",
            )
            (moved,) = other.partitions
            (kept,) = consumer.partitions
            consumer.release.set()
            await r.send(kept, 1)

            async def committed_on() -> bool:
                r.still_reading()
                offset = await other.consumer.committed(TopicPartition(r.topic, kept))
                return sink.prices == 3 and offset == 2

            await eventually(committed_on, timeout_s=60, what="the next record read, committed")
            assert await other.consumer.committed(TopicPartition(r.topic, moved)) is None
