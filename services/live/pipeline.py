"""The live path: ingest batches feed the reaction engine; each batch's events and the revisions
it caused are written to the store in one transaction, with each revision in the outbox, before
the batch counts as accepted, so its offsets are committed only after that. The revisions are
then published (Kafka, live clients) while the next batch is read, and released from the outbox
by the next write transaction (or the idle timer): one batch in flight, which the next batch's
publication waits for, so revisions leave in cursor order and a publisher that fails holds the
live path back one batch later. A store or broker
outage is retried with backoff (offsets stay uncommitted, the engine lock holds every later
batch back), and shows in /readyz meanwhile.

Nothing stored is unsent: each revision enters the outbox in its own write transaction and
leaves it only once every publisher (the broker's acknowledgement included) has it. Whatever
a crash leaves in the outbox is published again, oldest first, before the consumers start
(`publish_unpublished`); a write that had to be retried (it may have committed before its
answer was lost) is followed by the same pass. Revisions may thus be published twice, never
not at all.

Recovery (a restart, a rebalance) is told in the README, "How it fits together"; here it is
`recover` (the outbox, then the engine from the latest stored revisions)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Protocol, TypeVar

from services.engine import Clock, ReactionEngine, Revisions, snapshot
from services.events import Signal
from services.ingest.outages import Outages, kafka_transient, retrying, store_transient
from services.ingest.types import IngestBatch
from services.live.metrics import LiveMetrics
from services.store.batch import StoreBatch, WriteResult
from services.store.filters import ReactionFilter, ReactionKey
from services.store.types import HistoryReader, PublishOutbox, ReactionWriter

log = logging.getLogger(__name__)

T = TypeVar("T")

RECOVERY_LOOKBACK = timedelta(days=45)
"""Reactions anchored this long before the newest stored one are not restored: their windows
(close+5 at most) and the allowed lateness are long over, and their inputs are older than any
sensible retention of `market.prices`. Measured in event time, so a historical replay behaves
as a live run."""
_PAGE = 1000
ENGINE_STATE_EVERY_S = 1.0
"""After a batch, the engine's gauges (open windows, staleness, watermark lag) are refreshed
if they are older than this (engine clock); the idle timer and rebalances always refresh them."""


async def latest_revisions(
    reader: HistoryReader, *, lookback: timedelta = RECOVERY_LOOKBACK
) -> list[Signal]:
    """The latest stored revision of every reaction anchored within `lookback` of the newest
    one, final or not: what the engine restores before replaying its inputs. Reads the latest
    revisions once, in pages."""
    out: list[Signal] = []
    after: ReactionKey | None = None
    while page := await reader.list_reactions(ReactionFilter(), after=after, limit=_PAGE):
        out += page
        after = ReactionKey.of(page[-1])
    if not out:
        return out
    since = out[-1].anchor_at - lookback
    return [s for s in out if s.anchor_at >= since]


def _log_revisions(signals: Sequence[Signal]) -> None:
    """Finals and corrections at INFO, provisional revisions at DEBUG: the levels are asked once
    a batch, and provisional revisions (most of a batch, thousands) looked at only where DEBUG
    is logged."""
    if log.isEnabledFor(logging.DEBUG):
        shown: Iterable[Signal] = signals
    elif log.isEnabledFor(logging.INFO):
        shown = (s for s in signals if s.final)
    else:
        return
    for signal in shown:
        _log_revision(signal)


def _log_revision(signal: Signal) -> None:
    level = logging.INFO if signal.final else logging.DEBUG
    kind = "corrected" if signal.corrected else "final" if signal.final else "provisional"
    log.log(
        level,
        "%s reaction rev %d: %+.2f%% (max rise %+.2f%%, z %s)",
        kind,
        signal.revision,
        signal.return_pct,
        signal.max_rise_pct,
        "n/a" if signal.z_score is None else f"{signal.z_score:.2f}",
        extra={
            "announcement_id": signal.announcement_id,
            "instrument": signal.instrument,
            "horizon": signal.horizon,
        },
    )


async def _let_publication_start() -> None:
    """Two passes of the event loop before the next batch is read: in the first the batch's
    publication starts (its revisions handed to the producer), in the second the producer's
    sender writes them to the broker. Without them the revisions waited for the loop's next
    pause: the next batch's store write, after that batch's triage and engine work (a poll
    already fetched is returned without a pause)."""
    for _ in range(2):
        await asyncio.sleep(0)


class SignalPublisher(Protocol):
    name: str
    """The dependency it delivers to, as /readyz names it while it fails."""

    async def publish(self, signals: Sequence[Signal]) -> None:
        """Returns once the signals are delivered (or queued for live clients)."""
        ...


class LivePipeline:
    """A BatchSink around the engine. The engine is not re-entrant: one lock orders batches from
    both consumers and the idle timer, and keeps each reaction's revisions in cursor order."""

    def __init__(
        self,
        engine: ReactionEngine,
        store: ReactionWriter,
        publishers: Sequence[SignalPublisher],
        metrics: LiveMetrics,
        clock: Clock,
        recovery: HistoryReader | None = None,
        *,
        outbox: PublishOutbox | None = None,
        outages: Outages | None = None,
    ) -> None:
        """`clock` is the engine's: grace and staleness use its processing time. `recovery`
        is where the revisions sent before are read back (`recover`); `outbox` holds what is
        stored and not yet published (usually the store itself). `outages` hears of store and
        publisher failures while they are retried."""
        self.engine = engine
        self._outbox = outbox
        self.outages = outages or Outages()
        self._recovery = recovery
        self._clock = clock
        self._store = store
        self._publishers = publishers
        self._metrics = metrics
        self._lock = asyncio.Lock()
        self._observed_s = float("-inf")
        self._sending: asyncio.Task[None] | None = None
        """The last stored batch being published while the next batch is polled: it is in
        the outbox, so a crash meanwhile sends it again."""
        self._published: list[int] = []
        """Cursors published and still in the outbox: released by the next write (or by
        `settle`, the idle timer and `close`)."""

    async def accept(self, batch: IngestBatch) -> None:
        async with self._lock:
            self._metrics.announcements_received(batch.announcements, batch.arrived_ms)
            signals = Revisions()
            if batch.announcements:
                signals.extend(self.engine.add_announcements(batch.announcements))
            if batch.prices.height:
                signals.extend(self.engine.add_prices(batch.prices))
            batch_to_store = StoreBatch(batch.announcements, batch.prices, signals)
            await self._commit(batch_to_store, arrived_ms=batch.arrived_ms)

    async def recover(self) -> int:
        """Publish what a crash left unsent, then restore the engine from the latest stored
        revisions; returns how many reactions were restored."""
        await self.publish_unpublished()
        if self._recovery is None:
            return 0
        latest = await latest_revisions(self._recovery)
        async with self._lock:
            self.engine.restore(latest)
        log.info("engine restored from %d stored reactions", len(latest))
        return len(latest)

    async def released(self, keys: Iterable[str]) -> None:
        """Another replica owns these instruments now (a PartitionOwner)."""
        async with self._lock:
            self.engine.forget(keys)
        self._observe_engine()

    async def acquired(self) -> None:
        """Partitions assigned, about to be replayed: continue from what the store has."""
        await self.recover()

    async def snapshots(self, groups: Sequence[Iterable[str]]) -> snapshot.Taken:
        """The engine state of each group of instruments (a partition's), taken together for
        a checkpoint (services/live/checkpoints.py), with the engine locked: only what the
        engine changes in place is copied then; `snapshot.finished` makes the snapshots from
        it (the history's compaction, pickling, compression: most of the cost) while batches
        go on."""
        sets = [set(instruments) for instruments in groups]
        async with self._lock:
            return snapshot.taken(self.engine, sets)

    async def load_snapshot(self, blob: bytes) -> list[str]:
        """Continue from a checkpoint's engine state; returns its instruments. Raises
        SnapshotError (nothing changed) when the bytes cannot be loaded."""
        async with self._lock:
            symbols = await asyncio.to_thread(snapshot.load, self.engine, blob)
        self._observe_engine()
        return symbols

    async def idle(self) -> None:
        """Finalise windows whose market closed after its last event, once grace has passed;
        release from the outbox what was published since the last write."""
        async with self._lock:
            signals = self.engine.on_idle()
            if signals:
                await self._commit(StoreBatch(signals=signals), arrived_ms={})
            elif self._sending is None:
                await self._release_published()
            self._observe_engine()

    async def run_idle_timer(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.idle()

    async def publish_unpublished(self) -> int:
        """Publish every revision the outbox still holds, oldest first; returns how many."""
        async with self._lock:
            sent = await self._drain_outbox()
        if sent:
            log.warning("published %d stored revisions that had not been sent", sent)
        return sent

    async def _commit(self, batch: StoreBatch, *, arrived_ms: Mapping[str, int]) -> None:
        released, self._published = self._published, []
        batch = replace(batch, hold_until_published=self._outbox is not None, released=released)
        attempts = 0

        async def write() -> WriteResult:
            nonlocal attempts
            attempts += 1
            return await self._store.write_batch(batch)

        with self._metrics.store_write.time():
            stored = (await self._retry_store(write)).signals
        self._observe_engine(every_s=ENGINE_STATE_EVERY_S)
        # all of the batch new to the store (no repeat left out): the engine's revisions, in
        # the same order, tell the metrics the same as the stored ones, from their columns
        observed = batch.signals if len(stored) == len(batch.signals) else stored
        if attempts > 1:
            # a failed attempt may have committed: then its revisions are only in the outbox
            await self._drain_outbox()
            self._observe_sent(stored, observed, arrived_ms)
        elif stored:
            await self._sent()  # one batch in flight: revisions leave in cursor order
            sending = self._send(stored, observed, arrived_ms)
            if self._outbox is None:  # nothing would send them after a crash: before the offsets
                await sending
            else:
                self._sending = asyncio.create_task(sending, name="publish")
                await _let_publication_start()

    async def settle(self) -> None:
        """Wait until the last stored batch is published (its failure is raised here: to the
        next batch, a drain, or the shutdown; what it did not send stays in the outbox), and
        release what was published from the outbox."""
        await self._sent()
        await self._release_published()

    async def _sent(self) -> None:
        sending, self._sending = self._sending, None
        if sending is not None:
            await sending

    async def _release_published(self) -> None:
        released, self._published = self._published, []
        await self._release(released)

    async def _release(self, cursors: Sequence[int]) -> None:
        if self._outbox is not None and cursors:
            outbox = self._outbox
            await self._retry_store(lambda: outbox.mark_published(cursors))

    async def close(self, *, timeout_s: float = 10.0) -> None:
        """At shutdown, once the consumers stopped: let the batch being published finish, for
        at most `timeout_s` (what it did not send stays in the outbox, sent at the next start)."""
        try:
            await asyncio.wait_for(self.settle(), timeout_s)
        except TimeoutError:
            log.warning(
                "the last batch was not published within %.0f s: left in the outbox", timeout_s
            )
        except Exception:
            log.exception("the last batch was not published: left in the outbox")

    async def _send(
        self, stored: Sequence[Signal], observed: Sequence[Signal], arrived_ms: Mapping[str, int]
    ) -> None:
        acked_s = await self._publish(stored)
        self._published += [s.cursor for s in stored if s.cursor is not None]
        self._observe_sent(stored, observed, arrived_ms, acked_s=acked_s)
        self._sending = None  # sent: nothing for the next batch (or the idle timer) to wait for

    def _observe_sent(
        self,
        stored: Sequence[Signal],
        observed: Sequence[Signal],
        arrived_ms: Mapping[str, int],
        *,
        acked_s: float | None = None,
    ) -> None:
        """`observed`: the same revisions as `stored`, as the metrics read them fastest."""
        self._metrics.published(observed, arrived_ms=arrived_ms, acked_s=acked_s)
        _log_revisions(stored)

    async def _drain_outbox(self, *, page: int = 1000) -> int:
        if self._outbox is None:
            return 0
        await self.settle()  # what is being sent is not read back as unsent
        outbox, sent = self._outbox, 0
        while pending := await self._retry_store(lambda: outbox.unpublished(limit=page)):
            await self._publish(pending)
            await self._release([s.cursor for s in pending if s.cursor is not None])
            sent += len(pending)
        return sent

    async def _publish(self, signals: Sequence[Signal]) -> float | None:
        """Deliver to every publisher (retrying each until it succeeds). Returns the
        wall-clock time (epoch seconds) they all had the signals."""
        if not signals:
            return None
        for publisher in self._publishers:
            await retrying(
                partial(publisher.publish, signals),
                dependency=publisher.name,
                outages=self.outages,
                transient=kafka_transient,
            )
        return self._metrics.wall_s()

    async def _retry_store(self, call: Callable[[], Awaitable[T]]) -> T:
        return await retrying(
            call, dependency="store", outages=self.outages, transient=store_transient
        )

    def _observe_engine(self, *, every_s: float = 0.0) -> None:
        """Refresh the engine's gauges; with `every_s`, only if they are that old (a batch's
        gauges need not be fresher than a scrape: reading the engine's status costs more than
        the metrics of its revisions)."""
        now_s = self._clock.monotonic_s()
        if every_s and now_s - self._observed_s < every_s:
            return
        self._observed_s = now_s
        self._metrics.engine_state(self.engine.instrument_status(), now_s=now_s)
