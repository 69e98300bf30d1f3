"""The sources role: every configured source polled in the background, with /healthz, /readyz
and /metrics (`market-reaction serve --role sources`), or headless (`market-reaction sources`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.api import health
from services.api.deps import Runtime
from services.api.problems import install_problem_handlers
from services.engine import SystemClock
from services.settings import Settings
from services.sources.announcer import open_announcer
from services.sources.config import load_sources
from services.sources.extract import Extractor
from services.sources.fetch import Fetcher
from services.sources.metrics import SourceMetrics
from services.sources.poller import SourcePoller
from services.store import open_store
from services.store.intake import IntakeStore
from services.store.types import Store

USER_AGENT = "market-reaction/0.1 (tariff announcement intake)"


@asynccontextmanager
async def running_sources(settings: Settings, registry: CollectorRegistry) -> AsyncIterator[Store]:
    """Polls every source until the block ends; yields the store (for readiness)."""
    configs = load_sources(settings.sources_file)
    # httpx logs every request's full URL at INFO, and a source's URL may carry a key
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    async with AsyncExitStack() as stack:
        store = await open_store(settings.database_url)
        stack.push_async_callback(store.close)
        intake = IntakeStore(store.engine)
        announcer = await open_announcer(settings, intake, store, stack)
        client = await stack.enter_async_context(
            httpx.AsyncClient(headers={"User-Agent": USER_AGENT}, follow_redirects=True)
        )
        fetcher, extractor, clock = Fetcher(client), Extractor(), SystemClock()
        metrics = SourceMetrics.create(registry)
        tasks = [
            asyncio.create_task(
                SourcePoller(
                    config,
                    fetcher=fetcher,
                    extractor=extractor,
                    announcer=announcer,
                    intake=intake,
                    metrics=metrics,
                    clock=clock,
                ).run(),
                name=f"source {config.name}",
            )
            for config in configs
        ]
        try:
            yield store
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def create_sources_app(settings: Settings, registry: CollectorRegistry | None = None) -> FastAPI:
    registry = registry or CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_sources(settings, registry) as store:
            app.state.runtime = Runtime(registry=registry, store=store)
            yield

    app = FastAPI(title="market-reaction sources", version="0.1.0", lifespan=lifespan)
    install_problem_handlers(app)
    app.include_router(health.router)
    return app


async def run_sources(settings: Settings) -> None:
    """Until cancelled."""
    async with running_sources(settings, CollectorRegistry()):
        await asyncio.Event().wait()
