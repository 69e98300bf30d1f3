"""Creates the service's Kafka topics (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.ingest.dlq import dlq_topic
from services.settings import Settings


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int


def service_topics(settings: Settings) -> list[TopicSpec]:
    return [
        TopicSpec(settings.announcements_topic, 1),
        TopicSpec(dlq_topic(settings.announcements_topic), 1),
        TopicSpec(settings.prices_topic, 6),
        TopicSpec(dlq_topic(settings.prices_topic), 1),
        TopicSpec(settings.signals_topic, 3),
    ]


async def ensure_topics(bootstrap_servers: str, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(s.name, num_partitions=s.partitions, replication_factor=1)
                    for s in missing
                ]
            )
        return [spec.name for spec in missing]
    finally:
        await admin.close()
