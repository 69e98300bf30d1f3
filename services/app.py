"""The app factory: FastAPI with a lifespan that owns everything long-lived.

Roles (DESIGN §2): `all` runs everything in one process; `engine` runs the consumers, the
engine, the store writes and the `market.signals` producer; `api` serves REST and the live
streams, reading signals from `market.signals` and history from the shared store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry, Gauge
from prometheus_fastapi_instrumentator import Instrumentator

from services.alerts.delivery import DeliveryPolicy
from services.alerts.dispatcher import Dispatcher, alert_client
from services.alerts.metrics import AlertMetrics
from services.api import alerts, health, streams
from services.api.auth import ApiKeys, require_api_key
from services.api.deps import Runtime
from services.api.feed import SignalFeed
from services.api.hub import SignalHub
from services.api.problems import install_problem_handlers
from services.api.resume import TagCache
from services.api.v1 import ApiLimits, include_v1
from services.checkpointing import engine_checkpoints
from services.console import mount_console
from services.engine import ReactionEngine, SystemClock, load_registry
from services.events import Signal
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from services.ingest.types import BatchSink, IngestBatch
from services.live import EngineSink, SignalPublisher
from services.live_metrics import LiveMetrics
from services.logs import install_redaction
from services.outages import Outages
from services.publisher import KafkaSignalPublisher
from services.settings import Settings
from services.sources.announcer import open_announcer
from services.store import open_store
from services.store.alerts import AlertStore
from services.store.intake import IntakeStore
from services.store.types import Store
from services.stories import StoryBook, StorySink, rules_from
from services.study.closes import SessionCloses

log = logging.getLogger(__name__)

Role = Literal["all", "engine", "api"]
ROLES: tuple[Role, ...] = ("all", "engine", "api")


class HubPublisher:
    """Hands stored revisions to the live clients of this process (role all)."""

    name = "live clients"

    def __init__(self, hub: SignalHub) -> None:
        self._hub = hub

    async def publish(self, signals: Sequence[Signal]) -> None:
        self._hub.publish(signals)


class RememberingSink:
    """Keeps the tags of every announcement for the live filters, then passes the batch on."""

    def __init__(self, inner: BatchSink, tags: TagCache) -> None:
        self._inner = inner
        self._tags = tags

    async def accept(self, batch: IngestBatch) -> None:
        self._tags.remember(batch.announcements)
        await self._inner.accept(batch)


def create_app(
    settings: Settings,
    *,
    role: Role = "all",
    sink: BatchSink | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """`sink` replaces the engine and the store writes (tests of ingest alone)."""
    registry = registry or CollectorRegistry()
    ingest_metrics = IngestMetrics.create(registry) if role != "api" else None
    stream_metrics = streams.StreamMetrics.create(registry) if role != "engine" else None
    # the dispatcher runs where the store is written (all, engine): those roles wake it at once
    alert_metrics = AlertMetrics.create(registry) if role != "api" else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            store = await open_store(settings.database_url, upgrade=settings.database_auto_upgrade)
            stack.push_async_callback(store.close)
            app.state.instruments = load_registry(settings.instruments_file)
            store.close_finder = SessionCloses(app.state.instruments)  # for event studies
            outages = Outages(log_interval_s=settings.outage_log_interval_s)
            app.state.alerts = alerts.AlertsRuntime(
                store.alerts, frozenset(settings.alert_allowed_hosts)
            )
            if alert_metrics is not None and sink is None:
                await _alert_dispatcher(settings, store.alerts, alert_metrics, stack)
            tags = TagCache()
            hub = SignalHub(tags.get) if stream_metrics is not None else None
            if hub is not None and stream_metrics is not None:
                app.state.streams = streams.Streams(
                    hub=hub,
                    tags=tags,
                    revisions=store,
                    metrics=stream_metrics,
                    queue_size=settings.stream_queue_size,
                    heartbeat_s=settings.stream_heartbeat_s,
                    send_timeout_s=settings.stream_send_timeout_s,
                )
            ingest = feed = None
            if ingest_metrics is not None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=settings.kafka_bootstrap,
                    acks="all",
                    linger_ms=5,
                    request_timeout_ms=settings.kafka_request_timeout_ms,
                )
                await producer.start()
                stack.push_async_callback(producer.stop)
                engine_sink: EngineSink | None = None
                batch_sink: BatchSink
                if sink is None:
                    engine_sink = await _engine_sink(
                        settings, registry, store, producer, hub, stack, outages
                    )
                    batch_sink = StorySink(engine_sink, StoryBook(rules_from(settings)), store)
                else:
                    batch_sink = sink
                checkpoints = None
                if engine_sink is not None and settings.checkpoints and settings.replay_on_assign:
                    checkpoints = engine_checkpoints(settings, engine_sink, store.engine, registry)
                ingest = await stack.enter_async_context(
                    IngestService(
                        settings,
                        RememberingSink(batch_sink, tags),
                        ingest_metrics,
                        producer,
                        owner=engine_sink,
                        outages=outages,
                        checkpoints=checkpoints,
                    )
                )
            elif hub is not None:
                feed = SignalFeed(
                    settings.kafka_bootstrap, settings.signals_topic, hub, tags, store
                )
                _background(stack, feed.run())
            if role != "engine":
                app.state.intake = IntakeStore(store.engine)
                if settings.api_write_keys_sha256:
                    app.state.announcer = await open_announcer(
                        settings, app.state.intake, store, stack
                    )
            app.state.runtime = Runtime(
                registry=registry, store=store, ingest=ingest, feed=feed, outages=outages
            )
            yield

    app = FastAPI(
        title="market-reaction",
        version="0.1.0",
        summary="Links US tariff announcements to the market moves that follow them.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    install_redaction()
    app.include_router(health.router)
    Instrumentator(
        registry=registry, excluded_handlers=["/metrics"], should_exclude_streaming_duration=True
    ).instrument(app)
    Gauge(
        "mr_ready",
        "1 when this replica's Kafka readers are assigned and running.",
        registry=registry,
    ).set_function(lambda: float(_kafka_ready(app)))
    if role != "engine":
        app.state.api_keys = ApiKeys.create(
            settings.api_keys_sha256, registry, settings.api_write_keys_sha256
        )
        guarded = [Depends(require_api_key)]
        include_v1(app, ApiLimits.from_settings(settings), dependencies=guarded)
        app.include_router(alerts.router, dependencies=guarded)
        app.include_router(streams.router, dependencies=guarded)
        mount_console(app)
    app.state.cors_origins = settings.cors_origins
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET"],
            allow_headers=["Authorization", "Accept", "Last-Event-ID"],
            expose_headers=["X-Next-Cursor"],
        )
    return app


def _kafka_ready(app: FastAPI) -> bool:
    runtime: Runtime | None = getattr(app.state, "runtime", None)
    if runtime is None:
        return False
    return (runtime.ingest is None or runtime.ingest.ready) and (
        runtime.feed is None or runtime.feed.assigned
    )


async def _engine_sink(
    settings: Settings,
    registry: CollectorRegistry,
    store: Store,
    producer: AIOKafkaProducer,
    hub: SignalHub | None,
    stack: AsyncExitStack,
    outages: Outages,
) -> EngineSink:
    """The engine, its store writes and publishers; restored from the store before any
    consumer starts (with `replay_on_assign`, see services/live.py)."""
    instruments = load_registry(settings.instruments_file)
    clock = SystemClock()
    engine = ReactionEngine(instruments, clock=clock)
    publishers: list[SignalPublisher] = [KafkaSignalPublisher(producer, settings.signals_topic)]
    if hub is not None:
        publishers.append(HubPublisher(hub))
    metrics = LiveMetrics.create(registry, (i.symbol for i in instruments), engine.config.horizons)
    live = EngineSink(
        engine,
        store,
        publishers,
        metrics,
        clock,
        store if settings.replay_on_assign else None,
        outbox=store,
        outages=outages,
    )
    await live.recover()
    _background(stack, live.run_idle_timer(settings.idle_interval_s))
    return live


async def _alert_dispatcher(
    settings: Settings, store: AlertStore, metrics: AlertMetrics, stack: AsyncExitStack
) -> None:
    """Delivers the alert outbox; on PostgreSQL one replica at a time (services/alerts)."""
    policy = DeliveryPolicy.from_settings(settings)
    client = alert_client(policy)
    stack.push_async_callback(client.close)
    dispatcher = Dispatcher(store, client, policy, metrics)
    _background(stack, dispatcher.run(settings.alert_poll_interval_s))


def _background(stack: AsyncExitStack, work: Coroutine[Any, Any, None]) -> None:
    """Run `work` until the app stops; a failure shows in /readyz and in the log at once."""
    task = asyncio.create_task(work)
    task.add_done_callback(_log_failure)
    stack.push_async_callback(_cancel, task)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s failed: %r", task.get_name(), task.exception())


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        log.exception("background task %s had failed", task.get_name())
