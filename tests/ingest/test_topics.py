"""`market-reaction topics` on the real broker: topics created with their settings, settings
brought back in line on the next run, a partition count never changed behind the keys' back."""

from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.ingest.topics import TopicSpec, reconcile_topics, service_topics
from services.settings import Settings


async def topic_config(bootstrap: str, topic: str, names: list[str]) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, dict.fromkeys(names))
        (response,) = await admin.describe_configs([resource])
        return {entry[0]: entry[1] for entry in response.resources[0][4]}
    finally:
        await admin.close()


def settings_for(bootstrap: str, run: str, **changes: object) -> Settings:
    return Settings.model_validate(
        {
            "kafka_bootstrap": bootstrap,
            "announcements_topic": f"test-{run}.announcements",
            "prices_topic": f"test-{run}.prices",
            "signals_topic": f"test-{run}.signals",
            **changes,
        }
    )


async def test_topics_get_the_settings_retention_and_compaction(kafka_bootstrap: str) -> None:
    run = uuid.uuid4().hex[:10]
    settings = settings_for(kafka_bootstrap, run, prices_partitions=4, prices_retention_days=2)
    first = await reconcile_topics(kafka_bootstrap, service_topics(settings))
    assert sorted(first.created) == sorted(s.name for s in service_topics(settings))
    prices = await topic_config(kafka_bootstrap, settings.prices_topic, ["retention.ms"])
    assert prices == {"retention.ms": str(2 * 24 * 3600 * 1000)}
    announcements = await topic_config(
        kafka_bootstrap, settings.announcements_topic, ["cleanup.policy", "retention.ms"]
    )
    assert announcements == {"cleanup.policy": "delete", "retention.ms": "-1"}

    again = await reconcile_topics(kafka_bootstrap, service_topics(settings))
    assert (again.created, again.reconfigured, again.partition_mismatches) == ([], [], {})

    longer = settings_for(kafka_bootstrap, run, prices_partitions=8, prices_retention_days=3)
    changed = await reconcile_topics(kafka_bootstrap, service_topics(longer))
    assert changed.reconfigured == [longer.prices_topic]
    assert changed.partition_mismatches == {longer.prices_topic: (4, 8)}
    prices = await topic_config(kafka_bootstrap, settings.prices_topic, ["retention.ms"])
    assert prices == {"retention.ms": str(3 * 24 * 3600 * 1000)}


async def test_a_topic_without_settings_is_only_created(kafka_bootstrap: str) -> None:
    name = f"test-{uuid.uuid4().hex[:10]}.plain"
    report = await reconcile_topics(kafka_bootstrap, [TopicSpec(name, 2)])
    assert report.created == [name]
    assert (await reconcile_topics(kafka_bootstrap, [TopicSpec(name, 2)])).created == []
