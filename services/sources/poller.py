"""One source, polled: fetch (conditional), read, keep only new items, extract, then produce the
routed ones and keep the others as `unrouted`; the position is saved after each poll, and the
announcer is idempotent by id, so a restart never produces an item twice."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from services.engine.types import Clock
from services.events import Announcement
from services.sources.announcer import Announcer
from services.sources.backoff import Backoff
from services.sources.config import SourceConfig
from services.sources.exceptions import FetchFailed, IntakeError, MalformedDocument
from services.sources.extract import Extracted, Extractor
from services.sources.fetch import Fetcher
from services.sources.items import SourceItem, parse_federal_register, parse_feed
from services.sources.metrics import SourceMetrics
from services.store.intake import IntakeStore, SourcePosition

log = logging.getLogger(__name__)

SEEN_IDS_KEPT = 5_000
"""Ids remembered per source (at least twice the largest answer seen)."""
HEADLINE_CHARS = 500
PARSERS = {"federal_register": parse_federal_register, "feed": parse_feed}


@dataclass(frozen=True, slots=True)
class PollResult:
    not_modified: bool = False
    produced: int = 0
    unrouted: int = 0
    skipped: int = 0
    """New items without the source's required words, or unreadable as an announcement."""


def announcement_id(source: str, item: SourceItem) -> str:
    """Stable per item: a restart, or the same item read again, gives the same id."""
    if source == "federal_register":
        return f"fr-{item.item_id}"[:200]
    return f"{source}-{hashlib.sha256(item.item_id.encode()).hexdigest()[:20]}"


def draft_of(source: str, item: SourceItem, extracted: Extracted) -> dict[str, Any]:
    """The announcement as far as the extractor got (targets may be empty)."""
    return {
        "id": announcement_id(source, item),
        "published_at": item.published_at.isoformat().replace("+00:00", "Z"),
        "published_at_precision": item.precision,
        "source": source,
        "targets": extracted.targets,
        "sectors": extracted.sectors,
        "action": extracted.action,
        "tariff_rate_pct": extracted.tariff_rate_pct,
        "previous_rate_pct": extracted.previous_rate_pct,
        "effective_at": extracted.effective_at.isoformat() if extracted.effective_at else None,
        "headline": item.title[:HEADLINE_CHARS],
        "url": item.url,
        "extraction": extracted.extraction.model_dump(),
    }


class SourcePoller:
    def __init__(
        self,
        config: SourceConfig,
        *,
        fetcher: Fetcher,
        extractor: Extractor,
        announcer: Announcer,
        intake: IntakeStore,
        metrics: SourceMetrics,
        clock: Clock,
    ) -> None:
        self.config = config
        self._fetcher = fetcher
        self._extractor = extractor
        self._announcer = announcer
        self._intake = intake
        self._metrics = metrics
        self._clock = clock
        self._parse = PARSERS[config.kind]
        self._required = [w.lower() for w in config.require_any]
        self.backoff = Backoff(config.backoff_base_s, config.backoff_cap_s)

    async def poll_once(self) -> PollResult:
        name = self.config.name
        position = await self._intake.position(name)
        try:
            fetched = await self._fetcher.get(
                self.config.url,
                etag=position.etag,
                last_modified=position.last_modified,
                timeout_s=self.config.timeout_s,
            )
            if fetched.body is None:
                return PollResult(not_modified=True)
            items = self._parse(fetched.body)
        except FetchFailed:
            self._metrics.errors.labels(name, "fetch").inc()
            raise
        except MalformedDocument:
            self._metrics.errors.labels(name, "malformed").inc()
            raise
        seen = set(position.seen_ids)
        new = sorted(
            (i for i in items if i.item_id not in seen), key=lambda i: (i.published_at, i.item_id)
        )
        produced = unrouted = skipped = 0
        for item in new:
            outcome = await self._handle(item) if self._relevant(item) else "skipped"
            produced += outcome == "produced"
            unrouted += outcome == "unrouted"
            skipped += outcome != "produced" and outcome != "unrouted"
        kept = max(SEEN_IDS_KEPT, 2 * len(items))
        ids = [*position.seen_ids, *(i.item_id for i in new)][-kept:]
        await self._intake.save_position(
            name,
            SourcePosition(fetched.etag, fetched.last_modified, tuple(ids)),
            now=self._clock.now(),
        )
        return PollResult(produced=produced, unrouted=unrouted, skipped=skipped)

    def _relevant(self, item: SourceItem) -> bool:
        text = f"{item.title} {item.summary}".lower()
        return not self._required or any(w in text for w in self._required)

    async def _handle(self, item: SourceItem) -> Literal["produced", "unrouted", "left_out"]:
        name = self.config.name
        now = self._clock.now()
        self._metrics.seen.labels(name).inc()
        self._metrics.lag.labels(name).observe(max(0.0, (now - item.published_at).total_seconds()))
        extracted = self._extractor.extract(
            item.title, item.summary, published=item.published_at.date()
        )
        draft = draft_of(name, item, extracted)
        if not extracted.targets:
            await self._intake.keep_unrouted(name, item.item_id, item.published_at, draft, now=now)
            self._metrics.unrouted.labels(name).inc()
            return "unrouted"
        try:
            announcement = Announcement.model_validate(draft)
        except ValidationError as exc:
            self._metrics.errors.labels(name, "malformed").inc()
            log.warning("source %s: item %r left out: %s", name, item.item_id, exc)
            return "left_out"
        await self._announcer.submit(announcement)
        self._metrics.produced.labels(name).inc()
        return "produced"

    async def run(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Poll until cancelled; failures in a row wait longer (capped), and never end it."""
        failures = 0
        while True:
            try:
                result = await self.poll_once()
                failures = 0
                if result.produced or result.unrouted:
                    log.info(
                        "source %s: %d produced, %d unrouted",
                        self.config.name,
                        result.produced,
                        result.unrouted,
                    )
            except IntakeError as exc:
                failures += 1
                log.warning("source %s: %s (failure %d in a row)", self.config.name, exc, failures)
            await sleep(self.config.interval_s + self.backoff.delay_s(failures))
