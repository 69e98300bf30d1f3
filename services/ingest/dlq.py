"""Dead-letter records: the original bytes, where they came from, and why they were refused."""

from __future__ import annotations

from dataclasses import dataclass

from services.ingest.decode import Rejection

DETAIL_MAX_CHARS = 1000


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

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            ("mr.reason", self.rejection.reason.value.encode()),
            ("mr.detail", self.rejection.detail[:DETAIL_MAX_CHARS].encode()),
            ("mr.source.topic", self.topic.encode()),
            ("mr.source.partition", str(self.partition).encode()),
            ("mr.source.offset", str(self.offset).encode()),
        ]
