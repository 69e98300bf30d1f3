"""`market-reaction`: the service's command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from services.engine import calendar_cache
from services.logs import configure_logging
from services.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from services.store.migrate import SchemaState


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    calendar_cache.keep_calendars_in(settings.calendar_cache_dir)
    code: int = args.command(args, settings)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="market-reaction",
        description="Links US tariff announcements to the market moves that follow them.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="consume both topics and serve HTTP (all in one)")
    serve.add_argument("--host", help="bind address (default MR_HTTP_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default MR_HTTP_PORT or 8000)")
    serve.add_argument(
        "--role",
        choices=("all", "engine", "api", "sources"),
        default="all",
        help="all (default): everything in one process; engine: consumers, engine, store "
        "writes and the signals producer; api: REST and live streams; sources: the pollers "
        "of public sources (MR_SOURCES_FILE)",
    )
    serve.set_defaults(command=_serve)

    topics = commands.add_parser(
        "topics", help="create the service's Kafka topics, keep their retention"
    )
    topics.set_defaults(command=_topics)

    replay = commands.add_parser(
        "replay", help="the engine over files: announcements and prices in, reactions out"
    )
    replay.add_argument(
        "--announcements", required=True, metavar="FILE", help="JSON lines or CSV; - for stdin"
    )
    replay.add_argument(
        "--prices", required=True, metavar="FILE", help="JSON lines or CSV; - for stdin"
    )
    replay.add_argument(
        "--out", default="-", metavar="FILE", help="reactions as JSON lines (default -: stdout)"
    )
    replay.add_argument("--instruments", type=Path, metavar="TOML", help="instrument registry")
    replay.add_argument(
        "--store",
        metavar="URL",
        help="also backfill this store (e.g. sqlite+aiosqlite:///data/market-reaction.db)",
    )
    replay.add_argument("--quiet", action="store_true", help="no progress on stderr")
    replay.set_defaults(command=_replay)

    simulate = commands.add_parser(
        "simulate", help="play the seed story (the July 2025 letter to Seoul) into Kafka"
    )
    simulate.add_argument(
        "--speedup",
        type=float,
        default=600.0,
        help="event time runs this many times faster than the clock (0: all at once; default 600)",
    )
    simulate.add_argument("--seed", type=int, default=7, help="random seed of the price path")
    simulate.add_argument(
        "--write", type=Path, metavar="DIR", help="write the scenario as JSON lines files instead"
    )
    simulate.set_defaults(command=_simulate)

    db = commands.add_parser("db", help="the store's schema: migrate it, or say where it is")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    db_commands.add_parser(
        "upgrade", help="migrate the store (MR_DATABASE_URL) to this version's schema"
    ).set_defaults(command=_db_upgrade)
    db_commands.add_parser(
        "current", help="print the store's schema revision and this version's newest"
    ).set_defaults(command=_db_current)

    ingest = commands.add_parser(
        "ingest", help="consume both topics and append every distinct valid event to a file"
    )
    ingest.add_argument("--to", type=Path, required=True, help="JSON lines file to append to")
    ingest.set_defaults(command=_ingest)

    from services.study.command import add_study_command

    add_study_command(commands)
    from services.sources import announce_cli

    announce_cli.add_parser(commands)

    sources = commands.add_parser(
        "sources", help="poll the public sources (MR_SOURCES_FILE) into tariff.announcements"
    )
    sources.set_defaults(command=_sources)
    alerts = commands.add_parser("alerts", help="webhook alerts")
    alert_commands = alerts.add_subparsers(required=True, metavar="ACTION")
    alert_test = alert_commands.add_parser(
        "test", help="send one signed sample alert to URL (checks the receiver)"
    )
    alert_test.add_argument("url", metavar="URL")
    alert_test.add_argument(
        "--secret", help="the subscription's secret (default: a new one, printed)"
    )
    alert_test.add_argument("--format", choices=("json", "slack"), default="json")
    alert_test.set_defaults(command=_alerts_test)
    return parser


def _sources(args: argparse.Namespace, settings: Settings) -> int:
    from services.sources.runner import run_sources

    return _run_until_signalled(run_sources(settings))


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from services.app import create_app
    from services.gctune import tune_process
    from services.sources.runner import create_sources_app

    app = (
        create_sources_app(settings)
        if args.role == "sources"
        else create_app(settings, role=args.role)
    )
    tune_process(settings)
    uvicorn.run(
        app,
        host=args.host or settings.http_host,
        port=args.port or settings.http_port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through the service's handler (text or JSON)
        # each client's copy would be compressed on its own: a signal is encoded once, sent as is
        ws_per_message_deflate=False,
    )
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from services.ingest.topics import reconcile_topics, service_topics

    report = asyncio.run(reconcile_topics(settings.kafka_bootstrap, service_topics(settings)))
    print(f"created: {', '.join(report.created) or 'none'}")
    print(f"settings changed: {', '.join(report.reconfigured) or 'none'}")
    for name, (found, wanted) in report.partition_mismatches.items():
        print(f"{name}: {found} partitions, settings say {wanted} (left as is: see README)")
    return 0


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from services.engine import EngineError, load_registry
    from services.gctune import tune_process
    from services.ingest.stories import rules_from
    from services.replay import run_replay

    tune_process(settings)  # the engine runs as in `serve`
    try:
        run_replay(
            args.announcements,
            args.prices,
            args.out,
            store=args.store,
            progress=not args.quiet,
            registry=load_registry(args.instruments or settings.instruments_file),
            stories=rules_from(settings),
        )
    except EngineError as exc:
        print(f"market-reaction replay: {exc}", file=sys.stderr)
        return 2
    return 0


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from services.demo.player import play, write_files
    from services.demo.scenario import seed_story

    scenario = seed_story(args.seed)
    if args.write:
        for path in write_files(scenario, args.write):
            print(f"wrote {path}")
        return 0
    sent = asyncio.run(play(scenario, settings, speedup=args.speedup))
    print(f"simulate: done, {sent:,} events sent")
    return 0


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from services.store import migrate

    before = asyncio.run(_on_store(settings, migrate.upgrade))
    if before.current == before.head:
        print(f"db: already at {before.head}")
    else:
        print(f"db: upgraded from {before.current or 'an unversioned store'} to {before.head}")
    return 0


def _db_current(args: argparse.Namespace, settings: Settings) -> int:
    from services.store import migrate

    state = asyncio.run(_on_store(settings, migrate.state))
    print(f"current: {state.current or 'none'}\nhead: {state.head}")
    return 0 if state.current == state.head else 1


async def _on_store(
    settings: Settings, action: Callable[[AsyncEngine], Awaitable[SchemaState]]
) -> SchemaState:
    from services.store.connect import create_engine

    engine = create_engine(settings.database_url)
    try:
        return await action(engine)
    finally:
        await engine.dispose()


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from aiokafka import AIOKafkaProducer
    from prometheus_client import CollectorRegistry

    from services.ingest.metrics import IngestMetrics
    from services.ingest.service import IngestService
    from services.ingest.sinks import JsonlFileSink

    async def consume() -> None:
        sink = JsonlFileSink(args.to)
        metrics = IngestMetrics.create(CollectorRegistry())
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        async with producer, IngestService(settings, sink, metrics, producer) as ingest:
            await ingest.wait_failed()

    return _run_until_signalled(consume())


def _alerts_test(args: argparse.Namespace, settings: Settings) -> int:
    from services.alerts.delivery import DeliveryPolicy
    from services.alerts.exceptions import UnsafeTarget
    from services.alerts.sample import send_sample
    from services.alerts.signing import new_secret

    secret = args.secret or new_secret()
    if not args.secret:
        print(f"signed with the new secret {secret}")
    policy = DeliveryPolicy.from_settings(settings)
    try:
        attempt = asyncio.run(send_sample(args.url, secret, args.format, policy))
    except UnsafeTarget as exc:
        print(f"market-reaction alerts test: refused: {exc}", file=sys.stderr)
        return 2
    if attempt.status is not None and 200 <= attempt.status < 300:
        print(f"delivered: HTTP {attempt.status}")
        return 0
    print(f"market-reaction alerts test: not delivered: {attempt.error}", file=sys.stderr)
    return 1


def _run_until_signalled(work: Coroutine[Any, Any, None]) -> int:
    """Run `work`; SIGTERM and SIGINT cancel it so its context managers shut down cleanly."""

    async def supervised() -> None:
        task = asyncio.ensure_future(work)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(supervised())
    except Exception as exc:  # noqa: BLE001 - the command's last word: say why, exit non-zero
        print(f"market-reaction: {exc!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
