"""The app factory: FastAPI with a lifespan that owns everything long-lived.

Roles (DESIGN §2): `all` runs everything in one process; `engine` runs the consumers, the
engine, the store writes and the `market.signals` producer; `api` serves REST and the live
streams, reading signals from `market.signals` and history from the shared store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
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
from services.console import mount_console
from services.engine import ReactionEngine, SystemClock, load_registry
from services.ingest.metrics import IngestMetrics
from services.ingest.outages import Outages
from services.ingest.service import IngestService
from services.ingest.stories import StoryBook, StorySink, rules_from
from services.ingest.types import BatchSink
from services.live.checkpoints import engine_checkpoints
from services.live.metrics import LiveMetrics
from services.live.pipeline import LivePipeline, SignalPublisher
from services.live.publishers import HubPublisher, KafkaSignalPublisher, RememberingSink
from services.logs import install_redaction
from services.settings import Settings
from services.sources.announcer import Announcer, open_announcer
from services.store import open_store
from services.store.alerts import AlertStore
from services.store.intake import IntakeStore
from services.store.sql import SqlStore
from services.store.types import Store
from services.study.closes import SessionCloses

log = logging.getLogger(__name__)

Role = Literal["all", "engine", "api"]
ROLES: tuple[Role, ...] = ("all", "engine", "api")


@dataclass(frozen=True, slots=True)
class _EngineMetrics:
    """Registered when the app is created (a registry takes each name once), used by the
    lifespan's engine part."""

    ingest: IngestMetrics
    alerts: AlertMetrics


def create_app(
    settings: Settings,
    *,
    role: Role = "all",
    sink: BatchSink | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """`sink` replaces the engine and the store writes (tests of ingest alone)."""
    registry = registry or CollectorRegistry()
    runs_engine = role in ("all", "engine")
    serves_api = role in ("all", "api")
    engine_metrics = (
        _EngineMetrics(IngestMetrics.create(registry), AlertMetrics.create(registry))
        if runs_engine
        else None
    )
    stream_metrics = streams.StreamMetrics.create(registry) if serves_api else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            store = await open_store(settings.database_url, upgrade=settings.database_auto_upgrade)
            stack.push_async_callback(store.close)
            instruments = load_registry(settings.instruments_file)
            store.close_finder = SessionCloses(instruments)  # for event studies
            outages = Outages(log_interval_s=settings.outage_log_interval_s)
            tags = TagCache()
            hub = SignalHub(tags.get) if serves_api else None
            ingest = None
            if engine_metrics is not None:
                ingest = await _start_engine(
                    settings, registry, engine_metrics, store, hub, tags, outages, stack, sink
                )
            api = _ApiParts()
            if hub is not None and stream_metrics is not None:
                api = await _start_api(settings, store, hub, tags, stream_metrics, ingest, stack)
            app.state.runtime = Runtime(
                registry=registry,
                store=store,
                ingest=ingest,
                feed=api.feed,
                outages=outages,
                instruments=instruments,
                streams=api.streams,
                alerts=api.alerts,
                intake=api.intake,
                announcer=api.announcer,
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
    if serves_api:
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


async def _start_engine(
    settings: Settings,
    registry: CollectorRegistry,
    metrics: _EngineMetrics,
    store: SqlStore,
    hub: SignalHub | None,
    tags: TagCache,
    outages: Outages,
    stack: AsyncExitStack,
    sink: BatchSink | None,
) -> IngestService:
    """Roles all and engine: the consumers, and behind them the engine, its store writes and
    publishers and the alert dispatcher (or `sink` alone, for tests of ingest)."""
    producer = await stack.enter_async_context(
        AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            acks="all",
            linger_ms=0,  # a batch's revisions are queued at once; waiting adds to their latency
            request_timeout_ms=settings.kafka_request_timeout_ms,
        )
    )
    pipeline: LivePipeline | None = None
    checkpoints = None
    if sink is None:
        await _alert_dispatcher(settings, store.alerts, metrics.alerts, stack)
        pipeline = await _live_pipeline(settings, registry, store, producer, hub, stack, outages)
        sink = StorySink(pipeline, StoryBook(rules_from(settings)), store)
        if settings.checkpoints and settings.replay_on_assign:
            checkpoints = engine_checkpoints(settings, pipeline, store, registry)
    return await stack.enter_async_context(
        IngestService(
            settings,
            RememberingSink(sink, tags),
            metrics.ingest,
            producer,
            owner=pipeline,
            outages=outages,
            checkpoints=checkpoints,
        )
    )


@dataclass(frozen=True, slots=True)
class _ApiParts:
    streams: streams.Streams | None = None
    feed: SignalFeed | None = None
    alerts: alerts.AlertsRuntime | None = None
    intake: IntakeStore | None = None
    announcer: Announcer | None = None


async def _start_api(
    settings: Settings,
    store: SqlStore,
    hub: SignalHub,
    tags: TagCache,
    metrics: streams.StreamMetrics,
    ingest: IngestService | None,
    stack: AsyncExitStack,
) -> _ApiParts:
    """Roles all and api: the live streams (fed by this process's engine, or in role api by a
    reader of `market.signals`), alert subscriptions and the intake of announcements."""
    feed = None
    if ingest is None:
        feed = SignalFeed(settings.kafka_bootstrap, settings.signals_topic, hub, tags, store)
        _background(stack, feed.run())
    intake = IntakeStore(store.engine)
    announcer = None
    if settings.api_write_keys_sha256:
        announcer = await open_announcer(settings, intake, store, stack)
    return _ApiParts(
        streams=streams.Streams(
            hub=hub,
            tags=tags,
            revisions=store,
            metrics=metrics,
            queue_size=settings.stream_queue_size,
            heartbeat_s=settings.stream_heartbeat_s,
            send_timeout_s=settings.stream_send_timeout_s,
        ),
        feed=feed,
        alerts=alerts.AlertsRuntime(store.alerts, frozenset(settings.alert_allowed_hosts)),
        intake=intake,
        announcer=announcer,
    )


def _kafka_ready(app: FastAPI) -> bool:
    runtime: Runtime | None = getattr(app.state, "runtime", None)
    if runtime is None:
        return False
    return (runtime.ingest is None or runtime.ingest.ready) and (
        runtime.feed is None or runtime.feed.assigned
    )


async def _live_pipeline(
    settings: Settings,
    registry: CollectorRegistry,
    store: Store,
    producer: AIOKafkaProducer,
    hub: SignalHub | None,
    stack: AsyncExitStack,
    outages: Outages,
) -> LivePipeline:
    """The engine, its store writes and publishers; restored from the store before any
    consumer starts (README, How it fits together)."""
    instruments = load_registry(settings.instruments_file)
    clock = SystemClock()
    engine = ReactionEngine(instruments, clock=clock)
    publishers: list[SignalPublisher] = [KafkaSignalPublisher(producer, settings.signals_topic)]
    if hub is not None:
        publishers.append(HubPublisher(hub))
    metrics = LiveMetrics.create(
        registry,
        (i.symbol for i in instruments),
        engine.config.horizons,
        wall_s=lambda: clock.now().timestamp(),
    )
    live = LivePipeline(
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
    stack.push_async_callback(live.close)  # after the consumers stopped (the stack unwinds)
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
