"""Creates the service's Kafka topics and keeps their settings (idempotent)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.ingest.dlq import dlq_topic
from services.settings import Settings

log = logging.getLogger(__name__)
_DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    configs: Mapping[str, str] = field(default_factory=dict)
    """Topic-level settings (`retention.ms`, `cleanup.policy`), kept in line on every run."""


@dataclass(frozen=True, slots=True)
class TopicsReport:
    created: list[str]
    reconfigured: list[str]
    """Existing topics whose settings were changed to the specs'."""
    partition_mismatches: dict[str, tuple[int, int]]
    """Existing topics with another partition count: (found, wanted). Never changed here: more
    partitions would move keys (instruments) to other partitions mid-stream."""


def service_topics(settings: Settings) -> list[TopicSpec]:
    def retention(days: float) -> dict[str, str]:
        return {"cleanup.policy": "delete", "retention.ms": str(int(days * _DAY_MS))}

    dead_letters = retention(settings.dlq_retention_days)
    return [
        # small and needed by every window and study: kept for good (not compacted, so a keyless
        # record from a careless producer still reaches the dead-letter topic with its reason)
        TopicSpec(
            settings.announcements_topic, 1, {"cleanup.policy": "delete", "retention.ms": "-1"}
        ),
        TopicSpec(dlq_topic(settings.announcements_topic), 1, dead_letters),
        TopicSpec(
            settings.prices_topic,
            settings.prices_partitions,
            retention(settings.prices_retention_days),
        ),
        TopicSpec(dlq_topic(settings.prices_topic), 1, dead_letters),
        TopicSpec(
            settings.signals_topic,
            settings.signals_partitions,
            retention(settings.signals_retention_days),
        ),
    ]


async def ensure_topics(bootstrap_servers: str, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    return (await reconcile_topics(bootstrap_servers, specs)).created


async def reconcile_topics(bootstrap_servers: str, specs: list[TopicSpec]) -> TopicsReport:
    """Create missing topics with their settings; bring the settings of existing ones in line."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics()}
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        s.name,
                        num_partitions=s.partitions,
                        replication_factor=1,
                        topic_configs=dict(s.configs),
                    )
                    for s in missing
                ]
            )
        present = [spec for spec in specs if spec.name in existing and spec.configs]
        reconfigured = [s.name for s in present if await _differs(admin, s)]
        if reconfigured:
            wanted = [s for s in present if s.name in reconfigured]
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, s.name, dict(s.configs)) for s in wanted]
            )
        mismatches = {
            s.name: (existing[s.name], s.partitions)
            for s in specs
            if s.name in existing and existing[s.name] != s.partitions
        }
        for name, (found, wanted_count) in mismatches.items():
            log.warning(
                "topic %s has %d partitions, settings say %d: left as is", name, found, wanted_count
            )
        return TopicsReport([s.name for s in missing], reconfigured, mismatches)
    finally:
        await admin.close()


async def delete_scratch_topics(bootstrap_servers: str, prefixes: Collection[str]) -> list[str]:
    """Deletes every topic whose name starts with one of `prefixes` (a test's or benchmark
    run's own, e.g. `bench-<run>.`): records left by earlier runs would stay in the broker until
    its disk fills. Returns the names deleted."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        names = [t["topic"] for t in await admin.describe_topics()]
        doomed = [name for name in names if name.startswith(tuple(prefixes))]
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    finally:
        await admin.close()


async def _differs(admin: AIOKafkaAdminClient, spec: TopicSpec) -> bool:
    resource = ConfigResource(ConfigResourceType.TOPIC, spec.name, dict.fromkeys(spec.configs))
    (response,) = await admin.describe_configs([resource])
    found = {entry[0]: entry[1] for entry in response.resources[0][4]}
    return any(found.get(key) != value for key, value in spec.configs.items())
