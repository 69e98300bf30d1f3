"""`market-reaction topics` on the real broker: topics created with their settings, settings
brought back in line on the next run, a partition count never changed behind the keys' back;
a run's scratch topics deleted by their prefix, and no other."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.ingest.topics import (
    TopicSpec,
    delete_scratch_topics,
    ensure_topics,
    reconcile_topics,
    service_topics,
)
from services.settings import Settings
from tests.helpers import eventually
from tests.kafka_broker import scratch_run


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
    run = scratch_run()
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
    name = f"test-{scratch_run()}.plain"
    report = await reconcile_topics(kafka_bootstrap, [TopicSpec(name, 2)])
    assert report.created == [name]
    assert (await reconcile_topics(kafka_bootstrap, [TopicSpec(name, 2)])).created == []


async def test_scratch_topics_are_deleted_by_prefix_and_no_other(kafka_bootstrap: str) -> None:
    run, other = scratch_run(), scratch_run()
    scratch = [f"test-{run}.prices", f"test-{run}.prices.dlq"]
    kept = f"test-{other}.prices"
    await ensure_topics(kafka_bootstrap, [TopicSpec(name, 1) for name in [*scratch, kept]])

    deleted = await delete_scratch_topics(kafka_bootstrap, [f"test-{run}."])
    assert sorted(deleted) == sorted(scratch)

    async def topics() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            return {t["topic"] for t in await admin.describe_topics()}
        finally:
            await admin.close()

    async def gone() -> bool:
        return not set(scratch) & await topics()

    await eventually(gone, timeout_s=30, what="the run's topics to be deleted")
    assert kept in await topics()
    assert await delete_scratch_topics(kafka_bootstrap, [f"test-{other}."]) == [kept]
