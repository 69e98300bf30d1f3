"""The poll loop does not wait for the broker's answer to an offset commit: batches accepted
while one commit is in flight are read on, and committed together once it ends."""

from __future__ import annotations

from functools import partial

from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.helpers import eventually
from tests.ingest.helpers import GatedSink, reading


def read(sink: GatedSink, records: int) -> bool:
    return sink.prices == records


async def test_batches_are_read_on_while_a_commit_waits_and_committed_together(
    kafka_bootstrap: str,
) -> None:
    async with reading(kafka_bootstrap, 1, hold_commits=True) as r:
        observer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=r.config.group_id)
        await observer.start()
        try:
            for second in range(3):
                await r.send(0, second)
                await eventually(partial(read, r.sink, second + 1), what="a record read")
            assert r.consumer.holding.is_set()  # since the first batch: the loop yielded to poll

            r.consumer.release.set()

            async def committed() -> bool:
                r.still_reading()
                offset: int | None = await observer.committed(TopicPartition(r.topic, 0))
                return offset == 3

            await eventually(committed, timeout_s=30, what="the three records committed")
        finally:
            await observer.stop()
