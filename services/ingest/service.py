"""Runs the two topic consumers as one unit with a lifetime."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from types import TracebackType

from aiokafka import AIOKafkaProducer

from services.ingest.consumer import (
    ANNOUNCEMENTS,
    PRICES,
    ConsumerConfig,
    TopicConsumer,
)
from services.ingest.metrics import IngestMetrics
from services.ingest.outages import Outages
from services.ingest.types import BatchSink, PartitionCheckpoints, PartitionOwner
from services.settings import Settings

log = logging.getLogger(__name__)


class IngestService:
    def __init__(
        self,
        settings: Settings,
        sink: BatchSink,
        metrics: IngestMetrics,
        dlq_producer: AIOKafkaProducer,
        owner: PartitionOwner | None = None,
        outages: Outages | None = None,
        checkpoints: PartitionCheckpoints | None = None,
    ) -> None:
        """`dlq_producer` is started and stopped by the caller. `owner` hears which instruments
        this replica loses and gains in a rebalance of `market.prices`. `outages` hears of
        the broker failures the consumers retry."""
        config = ConsumerConfig(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=settings.group_id,
            max_records=settings.ingest_max_records,
            poll_timeout_ms=settings.ingest_poll_timeout_ms,
            dedupe_capacity=settings.dedupe_capacity,
            replay_on_assign=settings.replay_on_assign,
            group_instance_id=settings.replica_id if settings.kafka_static_membership else None,
            session_timeout_ms=settings.kafka_session_timeout_ms,
            max_ahead_of_watermark=_seconds(settings.ingest_max_ahead_of_watermark_s),
            max_ahead_of_wall_clock=_seconds(settings.ingest_max_ahead_of_wall_clock_s),
            lag_interval_s=settings.ingest_lag_interval_s,
        )
        self.outages = outages or Outages(log_interval_s=settings.outage_log_interval_s)
        # every engine replica reads every announcement: a group of its own for that topic
        announcements = replace(config, group_id=f"{settings.group_id}.{settings.replica_id}")
        self.consumers: list[TopicConsumer] = [
            TopicConsumer(
                settings.announcements_topic,
                ANNOUNCEMENTS,
                announcements,
                sink,
                dlq_producer,
                metrics,
                outages=self.outages,
            ),
            TopicConsumer(
                settings.prices_topic,
                PRICES,
                config,
                sink,
                dlq_producer,
                metrics,
                owner,
                outages=self.outages,
                checkpoints=checkpoints,
            ),
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self.failure: BaseException | None = None

    @property
    def ready(self) -> bool:
        return self.failure is None and all(c.assigned for c in self.consumers)

    async def __aenter__(self) -> IngestService:
        for consumer in self.consumers:
            task = asyncio.create_task(consumer.run(), name=f"consume {consumer.topic}")
            task.add_done_callback(self._on_done)
            self._tasks.append(task)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def wait_failed(self) -> asyncio.Future[list[None]]:
        """Completes (with the error) when any consumer stops by itself."""
        return asyncio.gather(*self._tasks)

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        self.failure = task.exception()
        log.error("%s stopped: %r", task.get_name(), self.failure)


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)
