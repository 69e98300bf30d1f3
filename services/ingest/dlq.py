"""Dead-letter records: the original bytes, where they came from, and why they were refused."""

from __future__ import annotations

from dataclasses import dataclass

from services.ingest.decode import Rejection

DETAIL_MAX_CHARS = 1000
PAYLOAD_MAX_BYTES = 900 * 1024
"""Key and value of a dead letter together, so that with its headers it stays under the
producer's and broker's default 1 MiB request and message size. A longer record is truncated
(header `mr.truncated` gives its original key and value sizes), never dropped."""


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


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
