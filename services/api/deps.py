"""Long-lived resources reach routes through these dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from services.api.feed import SignalFeed
from services.ingest.outages import Outages
from services.ingest.service import IngestService
from services.store.types import Store


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the app's lifespan started; a role leaves out what it does not run."""

    registry: CollectorRegistry
    store: Store
    ingest: IngestService | None = None
    """Consumers of announcements and prices (roles all and engine)."""
    feed: SignalFeed | None = None
    """Reader of market.signals for live clients (role api)."""
    outages: Outages = field(default_factory=Outages)
    """Dependencies failing now (retried meanwhile)."""


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
