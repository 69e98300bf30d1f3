"""Delivers the outbox: at least once, signed, in queue order per subscription and reaction.

Each enabled subscription has its own worker, so a slow receiver delays nobody else. A worker
holds a window of the subscription's oldest pending rows (`OutboxQueue`: offered by this
process's store writes as they commit, read in batches when it falls behind, and read from the
start now and then for rows other processes committed) and keeps up to `concurrency` deliveries
in flight: the head of every reaction that is due, the next
revision of a reaction once the one before it is delivered or dead-lettered. Outcomes go to one
writer for all subscriptions (`OutcomeWriter`, one transaction per batch); a crash before a
batch is written only repeats deliveries, which the receiver recognises by their
`Idempotency-Key`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Collection

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from services.alerts.delivery import Attempt, DeliveryPolicy, post
from services.alerts.exceptions import UnsafeTarget
from services.alerts.formats import delivery_body
from services.alerts.metrics import AlertMetrics
from services.alerts.queue import OutboxQueue
from services.alerts.signing import SIGNATURE_HEADER, signature
from services.alerts.targets import Resolver, check_target, resolve_host, shown_url
from services.alerts.types import OutboxItem, Outcome, StoredSubscription
from services.alerts.writer import OutcomeWriter
from services.store.alerts import AlertStore

log = logging.getLogger(__name__)

USER_AGENT = "market-reaction-alerts/1"
WINDOW_ROWS_PER_SLOT = 64
"""A worker holds up to this many pending rows per delivery slot, read in batches of half."""
MAX_CONNECTIONS = 256
"""Connections of the dispatcher, across all subscriptions."""
FULL_READ_EVERY_S = 30.0
"""A worker reads its pending rows from the start again when idle for a poll, and at least
this often: another process may commit a row after rows with higher ids were read."""
OUTCOMES_GATHER_S = 0.05
"""Outcomes pile up this long before the writer stores them in one transaction."""
PRUNE_EVERY_S = 60.0
"""How often delivered rows past their retention are deleted."""
_US = 1_000_000


def delivery_headers(
    subscription: StoredSubscription, item: OutboxItem, body: bytes, *, t: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": f"{subscription.id}:{item.signal_id}",
        "X-MR-Subscription": subscription.id,
        SIGNATURE_HEADER: signature(subscription.secret, body, t=t),
    }


def alert_client(policy: DeliveryPolicy) -> aiohttp.ClientSession:
    """One pool of kept-alive connections for every alert (a new TCP and TLS handshake per alert
    would cost more than the alert); no proxies from the environment, no cookies, one timeout
    for the whole exchange. Redirects are refused per request (`post`)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
        timeout=aiohttp.ClientTimeout(total=policy.timeout_s),
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


class Dispatcher:
    def __init__(
        self,
        store: AlertStore,
        client: aiohttp.ClientSession,
        policy: DeliveryPolicy,
        metrics: AlertMetrics | None = None,
        *,
        now_s: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        resolve: Resolver = resolve_host,
    ) -> None:
        """`now_s`: wall-clock seconds (signature times, due times, latency)."""
        self._store = store
        self._client = client
        self._policy = policy
        self._metrics = metrics
        self._now_s = now_s
        self._rng = rng or random.Random()
        self._resolve = resolve
        self._wakes: dict[str, asyncio.Event] = {}
        self._pruned_at_s = float("-inf")

    async def run_once(self) -> int:
        """One round for every enabled subscription: the due head of each reaction is sent,
        the outcomes written; returns the attempts made."""
        subscriptions = await self._store.subscriptions(enabled_only=True)
        rounds = await asyncio.gather(*(self._round(s) for s in subscriptions))
        outcomes = [outcome for sent in rounds for outcome in sent]
        updated = await self._store.record(
            outcomes, disable_after_dead=self._policy.disable_after_dead
        )
        self._written(outcomes, updated, subscriptions={s.id: s for s in subscriptions})
        return len(outcomes)

    async def _round(self, subscription: StoredSubscription) -> list[Outcome]:
        queue = OutboxQueue()
        queue.add(await self._store.pending(subscription.id, limit=self._window))
        heads = queue.take(int(self._now_s() * _US))
        if not heads:
            return []
        try:
            await check_target(subscription.url, self._policy.allowed_hosts, self._resolve)
        except UnsafeTarget as exc:
            return [self._outcome(h, Attempt(None, str(exc)), final=True) for h in heads]
        limit_in_flight = asyncio.Semaphore(self._policy.concurrency)

        async def send(item: OutboxItem) -> Outcome:
            async with limit_in_flight:
                return await self._attempt(subscription, item)

        return list(await asyncio.gather(*(send(h) for h in heads)))

    @property
    def _window(self) -> int:
        return WINDOW_ROWS_PER_SLOT * self._policy.concurrency

    async def _attempt(self, subscription: StoredSubscription, item: OutboxItem) -> Outcome:
        body = delivery_body(subscription.format, item.body)
        now_s = self._now_s()
        headers = delivery_headers(subscription, item, body, t=int(now_s))
        attempt = await post(
            self._client,
            subscription.url,
            body,
            headers,
            max_bytes=self._policy.response_max_bytes,
            now_s=now_s,
        )
        return self._outcome(item, attempt)

    def _outcome(self, item: OutboxItem, attempt: Attempt, *, final: bool = False) -> Outcome:
        now_s = self._now_s()
        attempts_done = item.attempts + 1
        verdict = "dead" if final else self._policy.verdict(attempt, attempts_done)
        next_at_us = 0
        if verdict == "retry":
            delay = self._policy.retry_delay_s(attempts_done, attempt.retry_after_s, self._rng)
            next_at_us = int((now_s + delay) * _US)
        return Outcome(item, verdict, int(now_s * _US), attempt.error, next_at_us)

    def _written(
        self,
        outcomes: list[Outcome],
        updated: dict[str, StoredSubscription],
        *,
        subscriptions: dict[str, StoredSubscription],
    ) -> None:
        """Outcomes are in the store: count them, and say which subscriptions they disabled."""
        for sid, after in updated.items():
            before = subscriptions.get(sid)
            if before is not None and before.enabled and not after.enabled:
                log.warning(
                    "alert subscription %s to %s disabled: %s",
                    sid,
                    shown_url(after.url),
                    after.disabled_reason,
                )
        if self._metrics is None:
            return
        for outcome in outcomes:
            label = "retried" if outcome.verdict == "retry" else outcome.verdict
            self._metrics.deliveries.labels(label).inc()
            if outcome.verdict == "delivered":
                latency_s = (outcome.at_us - outcome.item.emitted_at_us) / _US
                self._metrics.latency.observe(max(0.0, latency_s))

    # -- running ---------------------------------------------------------------------------------

    async def run(self, poll_s: float) -> None:
        """Dispatch until cancelled, while this process holds the dispatch lease."""
        while True:
            async with self._store.dispatch_lease() as held:
                if held:
                    log.info("alert dispatcher running")
                    await self._supervise(poll_s)
            await asyncio.sleep(poll_s)

    async def _supervise(self, poll_s: float) -> None:
        workers: dict[str, asyncio.Task[None]] = {}
        queues: dict[str, OutboxQueue] = {}
        subscriptions: dict[str, StoredSubscription] = {}

        def written(outcomes: list[Outcome], updated: dict[str, StoredSubscription]) -> None:
            for outcome in outcomes:
                queue = queues.get(outcome.item.subscription_id)
                if queue is not None and outcome.verdict != "retry":
                    queue.forget([outcome.item.id])
            self._written(outcomes, updated, subscriptions=subscriptions)
            for sid, after in updated.items():
                subscriptions[sid] = after
                if not after.enabled and sid in workers:
                    workers[sid].cancel()

        writer = OutcomeWriter(
            self._store,
            disable_after_dead=self._policy.disable_after_dead,
            written=written,
            retry_s=poll_s,
            gather_s=min(poll_s, OUTCOMES_GATHER_S),
            write_time=None if self._metrics is None else self._metrics.outcome_writes,
        )
        writing = asyncio.create_task(writer.run(), name="alert outcomes")

        def offered(items: list[OutboxItem], more: Collection[str]) -> None:
            by_subscription: dict[str, list[OutboxItem]] = {sid: [] for sid in more}
            for item in items:
                by_subscription.setdefault(item.subscription_id, []).append(item)
            for sid, rows in by_subscription.items():
                queue, wake = queues.get(sid), self._wakes.get(sid)
                if queue is None or wake is None or sid not in workers:
                    continue  # a worker starts with a read
                if sid in more:
                    queue.fall_behind()
                else:
                    queue.offer(rows, room=self._window * 2)
                wake.set()

        self._store.on_queued = offered
        polled_at = float("-inf")
        try:
            while True:
                # a new batch wakes the workers at once; the subscriptions are read every poll
                if time.monotonic() - polled_at >= poll_s:
                    polled_at = time.monotonic()
                    enabled = await self._poll(subscriptions)
                    if enabled is None:  # the store does not answer: carry on
                        enabled = {sid: subscriptions[sid] for sid in workers}
                    for sid in [s for s in workers if s not in enabled]:
                        workers.pop(sid).cancel()  # disabled or removed
                    for sid, task in list(workers.items()):
                        if task.done():
                            del workers[sid]
                            if not task.cancelled() and task.exception() is not None:
                                log.error("alert worker of %s failed: %r", sid, task.exception())
                    for sid, subscription in enabled.items():
                        if sid not in workers:  # (re)started with a fresh queue
                            queues[sid] = OutboxQueue()
                            self._wakes[sid] = asyncio.Event()
                            workers[sid] = asyncio.create_task(
                                self._work(subscription, queues[sid], writer, poll_s),
                                name=f"alerts {sid}",
                            )
                self._store.written.clear()
                for wake in self._wakes.values():
                    wake.set()
                pause_s = max(0.0, polled_at + poll_s - time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._store.written.wait(), pause_s)
        finally:
            self._store.on_queued = None
            for task in workers.values():
                task.cancel()
            await asyncio.gather(*workers.values(), return_exceptions=True)
            writing.cancel()
            await asyncio.gather(writing, return_exceptions=True)
            with contextlib.suppress(SQLAlchemyError, OSError):
                await writer.flush()

    async def _poll(
        self, subscriptions: dict[str, StoredSubscription]
    ) -> dict[str, StoredSubscription] | None:
        """The enabled subscriptions (also noted in `subscriptions`), the store's gauges, and
        pruning when due; None if the store does not answer."""
        try:
            enabled = {s.id: s for s in await self._store.subscriptions(enabled_only=True)}
            await self._observe_store()
            if self._now_s() - self._pruned_at_s >= PRUNE_EVERY_S:
                await self.prune()
                self._pruned_at_s = self._now_s()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("alert dispatcher cannot read the store: %r", exc)
            return None
        subscriptions.update(enabled)
        return enabled

    async def _work(
        self,
        subscription: StoredSubscription,
        queue: OutboxQueue,
        writer: OutcomeWriter,
        poll_s: float,
    ) -> None:
        """One subscription's deliveries, until cancelled (disabled or removed)."""
        wake = self._wakes[subscription.id]
        in_flight: set[asyncio.Task[Outcome]] = set()
        failed: list[BaseException] = []
        checked_at_s = rescanned_at_s = float("-inf")
        unsafe: UnsafeTarget | None = None
        loop = asyncio.get_running_loop()

        def settle(outcome: Outcome) -> None:
            queue.settle(outcome)
            writer.put(outcome)
            wake.set()  # the reaction's next alert may go

        def finished(task: asyncio.Task[Outcome]) -> None:
            in_flight.discard(task)
            if task.cancelled():
                return
            if (error := task.exception()) is not None:
                failed.append(error)
                wake.set()
            else:
                settle(task.result())

        try:
            while True:
                wake.clear()
                if failed:
                    raise failed[0]  # the supervisor starts the worker again
                now_s = self._now_s()
                # rows this process queues are offered as they commit; a read catches up when
                # offers were refused, and reads from the start when idle for a poll (another
                # process's rows) or at least every FULL_READ_EVERY_S
                since_s = now_s - rescanned_at_s
                full = since_s >= FULL_READ_EVERY_S or (since_s >= poll_s and not len(queue))
                if (full or queue.behind) and len(queue) <= self._window // 2:
                    if full:
                        rescanned_at_s = now_s
                    await self._refill(subscription.id, queue, full=full)
                if now_s - checked_at_s >= poll_s:
                    checked_at_s, unsafe = now_s, await self._unsafe(subscription)
                room = self._policy.concurrency - queue.in_flight
                for item in queue.take(int(now_s * _US), room):
                    if unsafe is not None:
                        settle(self._outcome(item, Attempt(None, str(unsafe)), final=True))
                    else:
                        task = asyncio.create_task(self._attempt(subscription, item))
                        in_flight.add(task)
                        task.add_done_callback(finished)
                pause_s = poll_s
                next_due_us = queue.next_due_us()
                if next_due_us is not None:
                    pause_s = min(poll_s, max(0.0, next_due_us / _US - now_s))
                if not wake.is_set():
                    timer = loop.call_later(pause_s, wake.set)
                    try:
                        await wake.wait()
                    finally:
                        timer.cancel()
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _refill(self, subscription_id: str, queue: OutboxQueue, *, full: bool) -> None:
        """Read the next pending rows. `full` reads from the start again, for rows another
        process committed out of id order (the queue skips those it knows, so that read is
        larger)."""
        limit = self._window - len(queue)
        if full:
            limit += self._window
        queue.read_started()
        try:
            rows = await self._store.pending(
                subscription_id, limit=limit, after_id=0 if full else queue.high_water
            )
        except (SQLAlchemyError, OSError) as exc:
            log.warning("alert outbox read failed: %r", exc)
            queue.read_ended([], complete=False)
            return
        queue.read_ended(rows, complete=len(rows) < limit)

    async def _unsafe(self, subscription: StoredSubscription) -> UnsafeTarget | None:
        try:
            await check_target(subscription.url, self._policy.allowed_hosts, self._resolve)
        except UnsafeTarget as exc:
            return exc
        return None

    async def prune(self) -> int:
        """Delete the delivered rows older than the policy's retention; returns how many."""
        before_us = int((self._now_s() - self._policy.delivered_retention_s) * _US)
        pruned = await self._store.prune_delivered(before_us=before_us)
        if pruned:
            log.info("pruned %d delivered alerts from the outbox", pruned)
        return pruned

    async def _observe_store(self) -> None:
        if self._metrics is None:
            return
        self._metrics.backlog.set(await self._store.backlog())
        self._metrics.disabled.set(await self._store.disabled_count())
