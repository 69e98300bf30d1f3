"""Sending raw records (any bytes, any size) with a producer of the test's own, and reading a
dead-letter topic back."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from tests.helpers import kcat_consume

MAX_REQUEST_BYTES = 2 * 1024 * 1024
"""Above the broker's 1 MiB message limit: a record near it must reach the broker."""


async def send_raw(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes | None]]
) -> None:
    """(key, value) pairs, in order, acknowledged before returning."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", max_request_size=MAX_REQUEST_BYTES, linger_ms=5
    )
    await producer.start()
    try:
        acks = [await producer.send(topic, key=key, value=value) for key, value in records]
        for ack in acks:
            await ack
    finally:
        await producer.stop()


def dead_letters(bootstrap: str, topic: str) -> list[dict[str, bytes]]:
    return kcat_consume(bootstrap, f"{topic}.dlq")
