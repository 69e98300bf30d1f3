"""A source poller wired to real parts: the local feed server, the real broker, a SQLite store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from services.engine import SystemClock
from services.settings import Settings
from services.sources.announcer import open_announcer
from services.sources.config import SourceConfig
from services.sources.extract import Extractor
from services.sources.fetch import Fetcher
from services.sources.metrics import SourceMetrics
from services.sources.poller import SourcePoller
from services.store import open_store
from services.store.intake import IntakeStore
from tests.helpers import kcat_consume


@dataclass
class Harness:
    poller: SourcePoller
    intake: IntakeStore
    registry: CollectorRegistry

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, {"source": self.poller.config.name, **labels})
        return value or 0.0


@asynccontextmanager
async def harness(settings: Settings, config: SourceConfig) -> AsyncIterator[Harness]:
    """A fresh poller over the settings' store (a second one over the same store is a restart)."""
    async with AsyncExitStack() as stack:
        store = await open_store(settings.database_url)
        stack.push_async_callback(store.close)
        intake = IntakeStore(store.engine)
        announcer = await open_announcer(settings, intake, store, stack)
        client = await stack.enter_async_context(httpx.AsyncClient())
        registry = CollectorRegistry()
        poller = SourcePoller(
            config,
            fetcher=Fetcher(client),
            extractor=Extractor(),
            announcer=announcer,
            intake=intake,
            metrics=SourceMetrics.create(registry),
            clock=SystemClock(),
        )
        yield Harness(poller, intake, registry)


def produced(settings: Settings) -> list[dict[str, Any]]:
    """Every announcement on the topic, read with kcat (independent of the service)."""
    records = kcat_consume(settings.kafka_bootstrap, settings.announcements_topic)
    return [json.loads(r["value"]) for r in records]
