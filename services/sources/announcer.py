"""Produces announcements to `tariff.announcements`, keyed by id, and returns only once the
broker acknowledged them (the producer uses `acks=all`). Idempotent on id: the same content again
is a repeat, other content under a taken id is a conflict."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Literal, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.engine.clock import SystemClock
from services.engine.types import Clock
from services.events import Announcement
from services.settings import Settings
from services.sources.exceptions import AnnouncementConflict, BrokerUnavailable
from services.store.intake import IntakeStore


class AnnouncementLookup(Protocol):
    async def get_announcement(self, announcement_id: str) -> Announcement | None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["accepted", "repeat"]
    announcement: Announcement
    """The announcement as accepted (for a repeat: the one accepted first)."""


def new_producer(bootstrap: str) -> AIOKafkaProducer:
    """Every in-sync replica has the record before it counts as sent."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)


SERVICE_FIELDS = {"story_id", "first_seen_at"}
"""Set by the service once stored: not part of what a producer sent."""


def same_content(a: Announcement, b: Announcement) -> bool:
    return a.model_dump(mode="json", exclude=SERVICE_FIELDS) == b.model_dump(
        mode="json", exclude=SERVICE_FIELDS
    )


class Announcer:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        ledger: IntakeStore,
        store: AnnouncementLookup,
        clock: Clock,
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._ledger = ledger
        self._store = store
        self._clock = clock
        self._lock = asyncio.Lock()

    async def submit(self, announcement: Announcement) -> Outcome:
        """Raises `AnnouncementConflict`, or `BrokerUnavailable` when nothing was produced."""
        # one at a time per process: a check and its produce never interleave with another's
        async with self._lock:
            known = await self._known(announcement.id)
            if known is not None:
                if not same_content(known, announcement):
                    raise AnnouncementConflict(
                        f"announcement {announcement.id!r} exists with other content; "
                        "a correction is a new id that names it in `supersedes`"
                    )
                return Outcome("repeat", known)
            await self._produce(announcement)
            await self._ledger.record_submission(announcement, now=self._clock.now())
            await self._ledger.complete(announcement.id)
            return Outcome("accepted", announcement)

    async def _known(self, announcement_id: str) -> Announcement | None:
        submitted = await self._ledger.submission(announcement_id)
        return submitted or await self._store.get_announcement(announcement_id)

    async def _produce(self, announcement: Announcement) -> None:
        value = announcement.model_dump_json(exclude_none=True).encode()
        try:
            await self._producer.send_and_wait(
                self._topic, key=announcement.id.encode(), value=value
            )
        except KafkaError as exc:
            raise BrokerUnavailable(f"the broker did not acknowledge: {exc}") from exc


async def open_announcer(
    settings: Settings, ledger: IntakeStore, store: AnnouncementLookup, stack: AsyncExitStack
) -> Announcer:
    """An announcer whose producer stops with `stack`."""
    producer = await stack.enter_async_context(new_producer(settings.kafka_bootstrap))
    return Announcer(producer, settings.announcements_topic, ledger, store, SystemClock())
