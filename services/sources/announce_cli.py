"""`market-reaction announce`: enter one announcement from a file or from flags, through the same
announcer as the write API (validated, produced with acks=all, idempotent by id)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from services.events import Announcement
from services.settings import Settings
from services.sources.announcer import Outcome, open_announcer
from services.sources.exceptions import IntakeError
from services.store import open_store
from services.store.intake import IntakeStore


def add_parser(commands: Any) -> None:
    announce = commands.add_parser(
        "announce", help="enter one announcement (from a JSON file or flags) into Kafka"
    )
    announce.add_argument("--file", type=Path, metavar="A.json", help="the announcement as JSON")
    announce.add_argument("--id", help="default: derived from the content")
    announce.add_argument("--headline")
    announce.add_argument("--targets", nargs="+", metavar="CC", help="e.g. KR JP")
    announce.add_argument("--sectors", nargs="+", metavar="SECTOR", help="default: all")
    announce.add_argument("--action", help="impose, raise, lower, pause, delay, exempt, deal, ...")
    announce.add_argument("--rate", type=float, help="new tariff rate in percent")
    announce.add_argument("--previous-rate", type=float, help="rate it replaces, in percent")
    announce.add_argument("--effective", help="YYYY-MM-DD or an RFC 3339 time")
    announce.add_argument("--published-at", help="RFC 3339 time (default: now)")
    announce.add_argument("--source", default="desk")
    announce.add_argument("--url")
    announce.add_argument("--supersedes", metavar="ID", help="the id this one corrects")
    announce.set_defaults(command=run)


def from_flags(args: argparse.Namespace, *, now: datetime) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "headline": args.headline,
        "targets": args.targets,
        "sectors": args.sectors,
        "action": args.action,
        "tariff_rate_pct": args.rate,
        "previous_rate_pct": args.previous_rate,
        "effective_at": args.effective,
        "published_at": args.published_at or now.isoformat().replace("+00:00", "Z"),
        "source": args.source,
        "url": args.url,
        "supersedes": args.supersedes,
    }
    data = {k: v for k, v in fields.items() if v is not None}
    content = json.dumps(data, sort_keys=True).encode()
    data["id"] = args.id or f"{args.source}-{hashlib.sha256(content).hexdigest()[:16]}"
    return data


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        raw = (
            json.loads(args.file.read_text())
            if args.file
            else from_flags(args, now=datetime.now(UTC))
        )
        announcement = Announcement.model_validate(raw)
    except (OSError, ValueError) as exc:
        detail = exc.errors() if isinstance(exc, ValidationError) else exc
        print(f"market-reaction announce: not a valid announcement: {detail}", file=sys.stderr)
        return 2
    try:
        outcome = asyncio.run(_submit(settings, announcement))
    except IntakeError as exc:
        print(f"market-reaction announce: {exc}", file=sys.stderr)
        return 1
    said = "accepted" if outcome.status == "accepted" else "already entered"
    path = quote(announcement.id, safe="")
    print(f"{said}: {announcement.id}")
    print(f"reactions: /v1/announcements/{path}")
    print(f"live: /v1/signals/stream?target={announcement.targets[0]}")
    return 0


async def _submit(settings: Settings, announcement: Announcement) -> Outcome:
    async with AsyncExitStack() as stack:
        store = await open_store(settings.database_url)
        stack.push_async_callback(store.close)
        intake = IntakeStore(store.engine)
        announcer = await open_announcer(settings, intake, store, stack)
        return await announcer.submit(announcement)
