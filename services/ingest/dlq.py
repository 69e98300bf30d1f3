"""Dead-letter records: the original bytes, where they came from, and why they were refused."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from prometheus_client import Counter

from services.ingest.decode import Rejection

log = logging.getLogger(__name__)

DETAIL_MAX_CHARS = 1000
PAYLOAD_MAX_BYTES = 900 * 1024
"""Key and value of a dead letter together, so that with its headers it stays under the
producer's and broker's default 1 MiB request and message size. A longer record is truncated
(header `mr.truncated` gives its original key and value sizes), never dropped."""


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


async def send_dead_letters(
    producer: AIOKafkaProducer, topic: str, dead: Sequence[DeadLetter], rejected: Counter
) -> None:
    """Sends all to `topic`'s dead-letter topic, then counts and logs them once every one is
    acknowledged (a retry sends them all again: a dead letter may be repeated, never lost)."""
    acks = []
    for d in dead:
        key, value = d.payload()
        acks.append(
            await producer.send(dlq_topic(topic), value=value, key=key, headers=d.headers())
        )
    await asyncio.gather(*acks)
    for d in dead:
        rejected.labels(topic, d.rejection.reason.value).inc()
        log.warning(
            "rejected %s[%d]@%d: %s (%s)",
            d.topic,
            d.partition,
            d.offset,
            d.rejection.reason.value,
            d.rejection.detail,
        )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    rejection: Rejection

    @property
    def truncated(self) -> bool:
        return _size(self.key) + _size(self.value) > PAYLOAD_MAX_BYTES

    def payload(self) -> tuple[bytes | None, bytes | None]:
        """(key, value) to send: the original, cut to `PAYLOAD_MAX_BYTES` (value first)."""
        if not self.truncated:
            return self.key, self.value
        key = None if self.key is None else self.key[:PAYLOAD_MAX_BYTES]
        budget = PAYLOAD_MAX_BYTES - _size(key)
        value = None if self.value is None else self.value[:budget]
        return key, value

    def headers(self) -> list[tuple[str, bytes]]:
        headers = [
            ("mr.reason", self.rejection.reason.value.encode()),
            ("mr.detail", self.rejection.detail[:DETAIL_MAX_CHARS].encode()),
            ("mr.source.topic", self.topic.encode()),
            ("mr.source.partition", str(self.partition).encode()),
            ("mr.source.offset", str(self.offset).encode()),
        ]
        if self.truncated:
            sizes = f"key={_size(self.key)} value={_size(self.value)}"
            headers.append(("mr.truncated", sizes.encode()))
        return headers


def _size(data: bytes | None) -> int:
    return 0 if data is None else len(data)
