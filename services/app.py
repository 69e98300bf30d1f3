"""The app factory: FastAPI with a lifespan that owns the consumers and everything long-lived."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.api import health
from services.api.deps import Runtime
from services.engine import ReactionEngine, load_registry
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from services.ingest.types import BatchSink
from services.live import EngineSink
from services.publisher import KafkaSignalPublisher
from services.settings import Settings


def create_app(
    settings: Settings, *, sink: BatchSink | None = None, registry: CollectorRegistry | None = None
) -> FastAPI:
    """The all-in-one service. `sink` replaces the engine (tests of ingest alone)."""
    registry = registry or CollectorRegistry()
    metrics = IngestMetrics.create(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            producer = AIOKafkaProducer(
                bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5
            )
            await producer.start()
            stack.push_async_callback(producer.stop)
            batch_sink = sink
            if batch_sink is None:
                engine = ReactionEngine(load_registry(settings.instruments_file))
                live = EngineSink(engine, KafkaSignalPublisher(producer, settings.signals_topic))
                idle = asyncio.create_task(live.run_idle_timer(settings.idle_interval_s))
                stack.push_async_callback(_cancel, idle)
                batch_sink = live
            ingest = await stack.enter_async_context(
                IngestService(settings, batch_sink, metrics, producer)
            )
            app.state.runtime = Runtime(registry=registry, ingest=ingest)
            yield

    app = FastAPI(
        title="market-reaction",
        version="0.1.0",
        summary="Links US tariff announcements to the market moves that follow them.",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    return app


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
