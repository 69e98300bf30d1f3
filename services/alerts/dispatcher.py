"""Delivers the outbox: at least once, signed, in queue order per subscription and reaction.

Each enabled subscription has its own worker, so a slow receiver delays nobody else. A round
takes the subscription's oldest pending rows and sends, concurrently, the first row of each
reaction that is due; the next revision of a reaction waits until the one before it is delivered
or dead-lettered. Outcomes are written back once per round; a crash before that only repeats
deliveries, which the receiver recognises by their `Idempotency-Key`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from services.alerts.delivery import Attempt, DeliveryPolicy, post
from services.alerts.exceptions import UnsafeTarget
from services.alerts.formats import delivery_body
from services.alerts.metrics import AlertMetrics
from services.alerts.signing import SIGNATURE_HEADER, signature
from services.alerts.targets import Resolver, check_target, resolve_host, shown_url
from services.alerts.types import OutboxItem, Outcome, StoredSubscription
from services.store.alerts import AlertStore

log = logging.getLogger(__name__)

USER_AGENT = "market-reaction-alerts/1"
ROUND_ROWS_PER_SLOT = 16
"""A round reads this many pending rows per delivery slot: its outcomes are written in one
transaction, so larger rounds mean fewer writes per alert."""
MAX_CONNECTIONS = 256
"""Connections of the dispatcher, across all subscriptions."""
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


def due_heads(items: list[OutboxItem], *, now_us: int) -> tuple[list[OutboxItem], int | None]:
    """The first pending row of each reaction if it is due, and when the next one not due yet
    is (None: none waits)."""
    seen: set[str] = set()
    heads: list[OutboxItem] = []
    next_due: int | None = None
    for item in items:
        if item.reaction_key in seen:
            continue
        seen.add(item.reaction_key)
        if item.next_attempt_at_us <= now_us:
            heads.append(item)
        elif next_due is None or item.next_attempt_at_us < next_due:
            next_due = item.next_attempt_at_us
    return heads, next_due


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

    async def run_once(self) -> int:
        """One round for every enabled subscription; returns the attempts made."""
        subscriptions = await self._store.subscriptions(enabled_only=True)
        rounds = await asyncio.gather(*(self.deliver_round(s) for s in subscriptions))
        return sum(sent for sent, _ in rounds)

    async def deliver_round(self, subscription: StoredSubscription) -> tuple[int, float | None]:
        """Returns the attempts made and, when rows wait for a retry, when the next is due."""
        limit = ROUND_ROWS_PER_SLOT * self._policy.concurrency
        items = await self._store.pending(subscription.id, limit=limit)
        now_s = self._now_s()
        heads, next_due_us = due_heads(items, now_us=int(now_s * _US))
        next_due_s = None if next_due_us is None else next_due_us / _US
        if not heads:
            return 0, next_due_s
        try:
            await check_target(subscription.url, self._policy.allowed_hosts, self._resolve)
        except UnsafeTarget as exc:
            outcomes = [self._outcome(h, Attempt(None, str(exc)), final=True) for h in heads]
        else:
            limit_in_flight = asyncio.Semaphore(self._policy.concurrency)

            async def send(item: OutboxItem) -> Outcome:
                async with limit_in_flight:
                    return await self._attempt(subscription, item)

            outcomes = list(await asyncio.gather(*(send(h) for h in heads)))
        updated = await self._store.record(
            subscription.id, outcomes, disable_after_dead=self._policy.disable_after_dead
        )
        self._observe(outcomes)
        if updated is not None and subscription.enabled and not updated.enabled:
            log.warning(
                "alert subscription %s to %s disabled: %s",
                subscription.id,
                shown_url(subscription.url),
                updated.disabled_reason,
            )
        return len(outcomes), next_due_s

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

    def _observe(self, outcomes: list[Outcome]) -> None:
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
        try:
            while True:
                try:
                    enabled = {s.id for s in await self._store.subscriptions(enabled_only=True)}
                    await self._observe_store()
                except (SQLAlchemyError, OSError) as exc:
                    log.warning("alert dispatcher cannot read the store: %r", exc)
                    enabled = set(workers)
                for sid in enabled - workers.keys():
                    self._wakes[sid] = asyncio.Event()
                    workers[sid] = asyncio.create_task(
                        self._work(sid, poll_s), name=f"alerts {sid}"
                    )
                for sid in [s for s, task in workers.items() if task.done()]:
                    failure = workers.pop(sid).exception()
                    self._wakes.pop(sid, None)
                    if failure is not None:  # restarted at the next poll
                        log.error("alert worker of %s failed: %r", sid, failure)
                self._store.written.clear()
                for wake in self._wakes.values():
                    wake.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._store.written.wait(), poll_s)
        finally:
            for task in workers.values():
                task.cancel()
            await asyncio.gather(*workers.values(), return_exceptions=True)

    async def _work(self, subscription_id: str, poll_s: float) -> None:
        """One subscription's deliveries, until it is disabled or removed."""
        wake = self._wakes[subscription_id]
        while True:
            wake.clear()
            try:
                subscription = await self._store.subscription(subscription_id)
                if subscription is None or not subscription.enabled:
                    return
                sent, next_due_s = await self.deliver_round(subscription)
            except (SQLAlchemyError, OSError) as exc:
                log.warning("alert delivery round failed: %r", exc)
                sent, next_due_s = 0, None
            if sent:
                continue
            pause_s = poll_s
            if next_due_s is not None:
                pause_s = min(poll_s, max(0.0, next_due_s - self._now_s()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), pause_s)

    async def _observe_store(self) -> None:
        if self._metrics is None:
            return
        self._metrics.backlog.set(await self._store.backlog())
        self._metrics.disabled.set(await self._store.disabled_count())
