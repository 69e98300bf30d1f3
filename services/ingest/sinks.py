"""Sinks that record what ingest delivered, idempotent on event identity."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Hashable, Iterator
from pathlib import Path

import orjson

from services.events import Announcement, Price
from services.ingest.dedupe import announcement_identity, price_identity
from services.ingest.types import IngestBatch

Event = Announcement | Price


def event_identity(event: Event) -> tuple[str, Hashable]:
    if isinstance(event, Announcement):
        return "announcement", announcement_identity(event)
    return "price", price_identity(event)


def batch_events(batch: IngestBatch) -> Iterator[Event]:
    yield from batch.announcements
    for row in batch.prices.iter_rows(named=True):
        yield Price.model_validate(row)


class MemorySink:
    """Keeps every distinct event it was given, in arrival order."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, Hashable], Event] = {}
        self.batches = 0

    async def accept(self, batch: IngestBatch) -> None:
        self.batches += 1
        for event in batch_events(batch):
            self.events.setdefault(event_identity(event), event)


class JsonlFileSink:
    """Appends each distinct event as a JSON line ({"kind": ..., **event}) and fsyncs before
    returning, so what it accepted survives a crash; on start it reads the file back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[tuple[str, Hashable]] = set()
        if path.exists():
            data = path.read_bytes()
            complete = data[: data.rfind(b"\n") + 1]
            if len(complete) < len(data):
                # a write torn by a crash: its batch was never acknowledged, so it comes again
                with path.open("r+b") as out:
                    out.truncate(len(complete))
            for line in complete.splitlines():
                self._seen.add(event_identity(_parse_line(line)))

    async def accept(self, batch: IngestBatch) -> None:
        lines = []
        for event in batch_events(batch):
            identity = event_identity(event)
            if identity not in self._seen:
                self._seen.add(identity)
                lines.append(orjson.dumps({"kind": identity[0], **event.model_dump(mode="json")}))
        if lines:
            await asyncio.to_thread(self._append, b"\n".join(lines) + b"\n")

    def _append(self, data: bytes) -> None:
        with self.path.open("ab") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())


def _parse_line(line: bytes) -> Event:
    record = orjson.loads(line)
    if record.pop("kind") == "announcement":
        return Announcement.model_validate(record)
    return Price.model_validate(record)
