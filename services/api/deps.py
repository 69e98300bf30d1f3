"""Long-lived resources reach routes through these dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry
from starlette.requests import HTTPConnection

from services.api.feed import SignalFeed
from services.engine.registry import InstrumentRegistry
from services.ingest.outages import Outages
from services.ingest.service import IngestService
from services.store.types import Store

if TYPE_CHECKING:  # these modules read the runtime through this one
    from services.api.alerts import AlertsRuntime
    from services.api.streams import Streams
    from services.sources.announcer import Announcer
    from services.store.intake import IntakeStore


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the app's lifespan started, set once as `app.state.runtime`; a role leaves out what
    it does not run, and the route that needs it answers 503."""

    registry: CollectorRegistry
    store: Store | None = None
    """The store (every service role; left out by benchmarks of the live streams alone)."""
    ingest: IngestService | None = None
    """Consumers of announcements and prices (roles all and engine)."""
    feed: SignalFeed | None = None
    """Reader of market.signals for live clients (role api)."""
    outages: Outages = field(default_factory=Outages)
    """Dependencies failing now (retried meanwhile)."""
    instruments: InstrumentRegistry | None = None
    """The instrument registry (benchmarks, calendars) the engine and the studies use."""
    streams: Streams | None = None
    """The live WebSocket and SSE streams (roles all and api)."""
    alerts: AlertsRuntime | None = None
    """Alert subscriptions (roles all and api)."""
    intake: IntakeStore | None = None
    """The ledger of announcements accepted over HTTP (roles all and api)."""
    announcer: Announcer | None = None
    """Produces announcements accepted over HTTP (with write keys)."""


def runtime_of(connection: HTTPConnection) -> Runtime:
    """The runtime of the app serving `connection` (a request or a WebSocket)."""
    runtime: Runtime = connection.app.state.runtime
    return runtime


def _runtime(request: Request) -> Runtime:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
