"""The dispatcher against a real receiver (uvicorn on 127.0.0.1) and a real store (SQLite and
PostgreSQL): retries through 5xx and 429 with Retry-After, signatures a receiver can check, order
per reaction, dead letters, disabling and replay. Time is an injected clock the test moves."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson

from services.alerts.delivery import DeliveryPolicy
from services.alerts.dispatcher import Dispatcher, alert_client
from services.alerts.filters import AlertFilter
from services.alerts.types import OutboxCounts, StoredSubscription
from services.events import Signal, signal_value
from services.store import SqlStore, StoreBatch
from tests.alerts.receiver import Receiver, verify_signature
from tests.factories import announcement, signal
from tests.helpers import free_port, live_server

SECRET = "whsec_test-secret"
POLICY = DeliveryPolicy(
    max_attempts=5,
    disable_after_dead=2,
    backoff_base_s=0.2,
    backoff_max_s=1.0,
    concurrency=4,
    allowed_hosts=frozenset({"127.0.0.1"}),
)
ROUNDS = 80


class Clock:
    def __init__(self) -> None:
        self.now_s = time.time()

    def __call__(self) -> float:
        return self.now_s


def subscription(sid: str, url: str, where: AlertFilter) -> StoredSubscription:
    return StoredSubscription(
        id=sid,
        url=url,
        filter=where,
        format="json",
        secret=SECRET,
        created_at_us=0,
        enabled=True,
        disabled_reason=None,
        consecutive_dead=0,
        last_errors=[],
    )


@asynccontextmanager
async def dispatcher(store: SqlStore, clock: Clock) -> AsyncIterator[Dispatcher]:
    async with alert_client(POLICY) as client:
        yield Dispatcher(store.alerts, client, POLICY, now_s=clock, rng=random.Random(1))


async def run_until_settled(
    dispatch: Dispatcher, store: SqlStore, clock: Clock, subscription_id: str
) -> None:
    """Rounds, with the clock moved half a second between them, until nothing is pending."""
    for _ in range(ROUNDS):
        await dispatch.run_once()
        if (await store.alerts.counts(subscription_id)).pending == 0:
            return
        clock.now_s += 0.5
    raise AssertionError(f"alerts still pending after {ROUNDS} rounds")


def revisions() -> tuple[list[Signal], list[Signal]]:
    """Two batches: KOSPI at two horizons (3 revisions each, the last final) and KOSDAQ."""
    first = [signal("a1", "KOSPI", h, r) for h in ("close", "30m") for r in (1, 2)]
    first += [signal("a1", "KOSDAQ", "close", 1)]
    second = [signal("a1", "KOSPI", h, 3, final=True) for h in ("close", "30m")]
    second += [signal("a1", "KOSDAQ", "close", 2, final=True)]
    return first, second


async def test_every_matching_revision_arrives_signed_and_in_order(store: SqlStore) -> None:
    clock = Clock()

    def script(key: str, attempt: int) -> tuple[int, dict[str, str]]:
        # two server errors, then "too many requests, come back in 3 s", then accepted
        if attempt <= 2:
            return 500 + attempt, {}
        if attempt == 3:
            return 429, {"Retry-After": "3"}
        return 200, {}

    receiver = Receiver(script, clock)
    async with live_server(receiver.app()) as base, dispatcher(store, clock) as dispatch:
        await store.alerts.add_subscription(
            subscription("s1", f"{base}/hook", AlertFilter(instrument="KOSPI"))
        )
        first, second = revisions()
        stored = (await store.write_batch(StoreBatch([announcement("a1")], signals=first))).signals
        stored += (await store.write_batch(StoreBatch(signals=second))).signals
        await run_until_settled(dispatch, store, clock, "s1")

    kospi = [s for s in stored if s.instrument == "KOSPI"]
    delivered = receiver.delivered()
    assert sorted(r.key for r in delivered) == sorted(f"s1:{s.signal_id}" for s in kospi)
    bodies = {r.key: r.body for r in delivered}
    for s in kospi:  # the body is the signal exactly as the live stream sends it
        assert bodies[f"s1:{s.signal_id}"] == signal_value(s)
    for r in receiver.requests:
        assert verify_signature(SECRET, r.signature, r.body, now_s=int(r.at_s), tolerance_s=5)
        assert not verify_signature("wrong", r.signature, r.body, now_s=int(r.at_s), tolerance_s=5)
    assert {r.attempt for r in delivered} == {4}
    for key in bodies:
        tries = {r.attempt: r.at_s for r in receiver.requests if r.key == key}
        assert tries[4] - tries[3] >= 3, "Retry-After was not honoured"
    for horizon in ("close", "30m"):
        seen = [
            orjson.loads(r.body)["revision"]
            for r in receiver.requests
            if orjson.loads(r.body)["horizon"] == horizon
        ]
        assert seen == sorted(seen), f"{horizon}: attempts out of revision order: {seen}"
    counts = await store.alerts.counts("s1")
    assert (counts.pending, counts.delivered, counts.dead) == (0, len(kospi), 0)


async def test_refused_and_unreachable_alerts_are_dead_lettered_then_disabled(
    store: SqlStore,
) -> None:
    clock = Clock()
    receiver = Receiver(lambda key, attempt: (400, {}), clock)
    nobody = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: connection refused
    async with live_server(receiver.app()) as base, dispatcher(store, clock) as dispatch:
        await store.alerts.add_subscription(subscription("refuses", f"{base}/hook", AlertFilter()))
        await store.alerts.add_subscription(subscription("gone", nobody, AlertFilter()))
        first, _ = revisions()
        stored = (await store.write_batch(StoreBatch([announcement("a1")], signals=first))).signals
        for _ in range(ROUNDS):
            await dispatch.run_once()
            if not await store.alerts.subscriptions(enabled_only=True):
                break
            clock.now_s += 0.5

        refuses = await store.alerts.subscription("refuses")
        gone = await store.alerts.subscription("gone")
        assert refuses is not None
        assert gone is not None
        # a 400 is final: one attempt per alert, two dead letters in a row disable it
        assert not refuses.enabled
        assert refuses.disabled_reason is not None
        # (a round sends the first alert of every reaction at once: 3 die together)
        assert "3 consecutive dead letters" in refuses.disabled_reason
        assert "HTTP 400" in refuses.last_errors[-1]
        assert all(r.attempt == 1 for r in receiver.requests)
        # connection refused is retried up to max_attempts, then dead
        assert not gone.enabled
        assert "connection failed" in gone.last_errors[-1]
        assert (await store.alerts.counts("gone")).dead >= 1

        # the desk fixes its receiver and replays what it missed
        receiver.script = lambda key, attempt: (200, {})
        cursors = [s.cursor or 0 for s in stored]
        queued = await store.alerts.replay("refuses", min(cursors), max(cursors))
        assert queued == len(stored)
        await run_until_settled(dispatch, store, clock, "refuses")
        enabled = await store.alerts.subscription("refuses")
        assert enabled is not None
        assert enabled.enabled
        assert enabled.consecutive_dead == 0
        assert {r.key for r in receiver.delivered()} == {f"refuses:{s.signal_id}" for s in stored}


async def test_no_alert_without_a_matching_subscription(store: SqlStore) -> None:
    await store.alerts.add_subscription(
        subscription("steel", "https://desk.example/hook", AlertFilter(sector="steel"))
    )
    first, _ = revisions()
    await store.write_batch(StoreBatch([announcement("a1", sectors=("autos",))], signals=first))
    assert (await store.alerts.counts()).pending == 0
    await store.write_batch(
        StoreBatch([announcement("a2", sectors=("steel",))], signals=[signal("a2")])
    )
    assert (await store.alerts.counts()).pending == 1


async def test_delivered_alerts_are_pruned_after_their_retention(store: SqlStore) -> None:
    clock = Clock()
    policy = DeliveryPolicy(
        max_attempts=1,
        disable_after_dead=100,
        delivered_retention_s=3600.0,
        allowed_hosts=frozenset({"127.0.0.1"}),
    )
    # the receiver refuses what is sent to "refused": its dead letters are kept
    receiver = Receiver(lambda key, attempt: (400 if key.startswith("refused:") else 200, {}))
    first, second = revisions()
    async with live_server(receiver.app()) as base, alert_client(policy) as client:
        dispatch = Dispatcher(store.alerts, client, policy, now_s=clock, rng=random.Random(1))
        await store.alerts.add_subscription(subscription("s1", f"{base}/hook", AlertFilter()))
        await store.alerts.add_subscription(subscription("refused", f"{base}/hook", AlertFilter()))
        await store.write_batch(StoreBatch([announcement("a1")], signals=first))
        await run_until_settled(dispatch, store, clock, "s1")
        clock.now_s += 2000
        await store.write_batch(StoreBatch(signals=second))
        await run_until_settled(dispatch, store, clock, "s1")
        old, recent = len(first), len(second)
        assert await store.alerts.counts("s1") == OutboxCounts(0, old + recent, 0)
        assert await dispatch.prune() == 0, "nothing is past its retention yet"

        clock.now_s += 2000  # the first batch was delivered 4,000 s ago, the second 2,000 s
        assert await dispatch.prune() == old
        assert await store.alerts.counts("s1") == OutboxCounts(0, recent, 0)
        assert await store.alerts.counts("refused") == OutboxCounts(0, 0, old + recent)
        assert await dispatch.prune() == 0
