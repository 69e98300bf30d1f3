"""Static membership on the real broker: a replica that restarts with its id gets its partition
back and the other replica is never rebalanced; without it, the other takes everything."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from services.ingest.consumer import ConsumerConfig, consumer_options
from services.ingest.topics import TopicSpec, ensure_topics
from tests.helpers import eventually
from tests.kafka_broker import scratch_run


@dataclass
class Member(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    consumer: AIOKafkaConsumer
    revoked: list[set[int]] = field(default_factory=list)

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if revoked:
            self.revoked.append({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        pass

    @property
    def partitions(self) -> set[int]:
        return {tp.partition for tp in self.consumer.assignment()}


@contextlib.asynccontextmanager
async def member(config: ConsumerConfig, topic: str) -> AsyncIterator[Member]:
    consumer = AIOKafkaConsumer(**consumer_options(config))
    joined = Member(consumer)
    consumer.subscribe([topic], listener=joined)
    await consumer.start()

    async def poll() -> None:
        while True:
            await consumer.getmany(timeout_ms=100)

    polling = asyncio.create_task(poll())
    try:
        yield joined
    finally:
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await consumer.stop()


async def two_partitions(bootstrap: str) -> tuple[str, str]:
    run = scratch_run()
    topic = f"test-{run}.static"
    await ensure_topics(bootstrap, [TopicSpec(topic, 2)])
    return topic, f"test-{run}"


def config(bootstrap: str, group: str, instance: str | None) -> ConsumerConfig:
    return ConsumerConfig(bootstrap, group, group_instance_id=instance, session_timeout_ms=30_000)


async def test_a_static_member_restarting_gets_its_partition_back_without_a_rebalance(
    kafka_bootstrap: str,
) -> None:
    topic, group = await two_partitions(kafka_bootstrap)
    async with member(config(kafka_bootstrap, group, "engine-b"), topic) as b:
        await eventually(lambda: b.partitions == {0, 1}, what="b holds both")
        async with member(config(kafka_bootstrap, group, "engine-a"), topic) as a:
            await eventually(lambda: len(a.partitions) == len(b.partitions) == 1, what="a split")
            held_by_a, held_by_b = a.partitions, b.partitions
            settled = len(b.revoked)
        # a restarted (rolling restart): it left no LeaveGroup behind, so nothing moved
        async with member(config(kafka_bootstrap, group, "engine-a"), topic) as a_again:
            await eventually(lambda: a_again.partitions == held_by_a, what="a back")
            assert b.partitions == held_by_b
            assert b.revoked[settled:] == []


async def test_a_dynamic_member_leaving_hands_its_partition_to_the_other(
    kafka_bootstrap: str,
) -> None:
    topic, group = await two_partitions(kafka_bootstrap)
    async with member(config(kafka_bootstrap, group, None), topic) as b:
        await eventually(lambda: b.partitions == {0, 1}, what="b holds both")
        async with member(config(kafka_bootstrap, group, None), topic) as a:
            await eventually(lambda: len(a.partitions) == len(b.partitions) == 1, what="a split")
            settled = len(b.revoked)
        await eventually(lambda: b.partitions == {0, 1}, what="b holds both")
        assert len(b.revoked) > settled
