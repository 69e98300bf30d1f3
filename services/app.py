"""The app factory: FastAPI with a lifespan that owns the consumers and everything long-lived."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.api import health
from services.api.deps import Runtime
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from services.ingest.sinks import MemorySink
from services.ingest.types import BatchSink
from services.settings import Settings


def create_app(
    settings: Settings, *, sink: BatchSink | None = None, registry: CollectorRegistry | None = None
) -> FastAPI:
    registry = registry or CollectorRegistry()
    metrics = IngestMetrics.create(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with IngestService(settings, sink or MemorySink(), metrics) as ingest:
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
