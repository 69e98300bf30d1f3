"""`market-reaction`: the service's command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import uvicorn

from services.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
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
    serve.set_defaults(command=_serve)

    topics = commands.add_parser("topics", help="create the service's Kafka topics if missing")
    topics.set_defaults(command=_topics)

    ingest = commands.add_parser(
        "ingest", help="consume both topics and append every distinct valid event to a file"
    )
    ingest.add_argument("--to", type=Path, required=True, help="JSON lines file to append to")
    ingest.set_defaults(command=_ingest)
    return parser


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from services.app import create_app

    uvicorn.run(
        create_app(settings),
        host=args.host or settings.http_host,
        port=args.port or settings.http_port,
        log_level=settings.log_level.lower(),
    )
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from services.topics import ensure_topics, service_topics

    created = asyncio.run(ensure_topics(settings.kafka_bootstrap, service_topics(settings)))
    print(f"created: {', '.join(created)}" if created else "all topics exist")
    return 0


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from prometheus_client import CollectorRegistry

    from services.ingest.metrics import IngestMetrics
    from services.ingest.service import IngestService
    from services.ingest.sinks import JsonlFileSink

    async def consume() -> None:
        sink = JsonlFileSink(args.to)
        metrics = IngestMetrics.create(CollectorRegistry())
        async with IngestService(settings, sink, metrics) as ingest:
            await ingest.wait_failed()

    return _run_until_signalled(consume())


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
