"""The running dispatcher (`Dispatcher.run`, as the service runs it) against a real receiver and a
real store: several subscriptions and reactions in flight at once, every alert delivered through
a retry, each reaction's revisions in order; and the writer that stores outcomes in batches."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import orjson
from prometheus_client import CollectorRegistry

from services.alerts.delivery import DeliveryPolicy
from services.alerts.dispatcher import Dispatcher, alert_client
from services.alerts.filters import AlertFilter
from services.alerts.metrics import AlertMetrics
from services.alerts.types import OutboxCounts, Outcome, StoredSubscription
from services.alerts.writer import OutcomeWriter
from services.store import SqlStore, StoreBatch
from tests.alerts.receiver import Receiver
from tests.alerts.test_dispatch import subscription
from tests.factories import announcement, signal
from tests.helpers import eventually, live_server

POLICY = DeliveryPolicy(
    max_attempts=5,
    backoff_base_s=0.05,
    backoff_max_s=0.2,
    concurrency=4,
    allowed_hosts=frozenset({"127.0.0.1"}),
)
SUBSCRIPTIONS = ("s1", "s2", "s3")
REVISIONS = 4
INSTRUMENTS = ("KOSPI", "KOSDAQ", "NIKKEI", "TOPIX", "SPX")


async def test_the_running_dispatcher_delivers_everything_in_order_per_reaction(
    store: SqlStore,
) -> None:
    # every alert's first attempt fails: each reaction's next revision must wait for its retry
    receiver = Receiver(lambda key, attempt: (503, {}) if attempt == 1 else (200, {}))
    async with live_server(receiver.app()) as base, alert_client(POLICY) as client:
        for sid in SUBSCRIPTIONS:
            await store.alerts.add_subscription(subscription(sid, f"{base}/hook", AlertFilter()))
        dispatcher = Dispatcher(store.alerts, client, POLICY, rng=random.Random(1))
        running = asyncio.create_task(dispatcher.run(poll_s=0.2))
        try:
            await store.write_batch(StoreBatch([announcement("a1")]))
            for revision in range(1, REVISIONS + 1):  # one store batch per revision
                batch = [signal("a1", i, "close", revision) for i in INSTRUMENTS]
                await store.write_batch(StoreBatch(signals=batch))
            expected = len(SUBSCRIPTIONS) * len(INSTRUMENTS) * REVISIONS

            async def all_delivered() -> bool:
                return await store.alerts.counts() == OutboxCounts(0, expected, 0)

            await eventually(all_delivered, timeout_s=60, what="every alert delivered")
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    delivered = receiver.delivered()
    assert len({r.key for r in delivered}) == expected
    assert all(r.attempt == 2 for r in delivered)
    for sid in SUBSCRIPTIONS:
        for instrument in INSTRUMENTS:
            tried = [
                orjson.loads(r.body)["revision"]
                for r in receiver.requests
                if r.key.startswith(f"{sid}:") and orjson.loads(r.body)["instrument"] == instrument
            ]
            # each revision twice (503, then 200), never one before the previous is delivered
            assert tried == [r for r in range(1, REVISIONS + 1) for _ in (1, 2)], tried


async def test_the_writer_stores_what_piled_up_in_one_transaction(store: SqlStore) -> None:
    await store.alerts.add_subscription(
        subscription("s1", "https://desk.example/hook", AlertFilter())
    )
    await store.write_batch(
        StoreBatch([announcement("a1")], signals=[signal("a1", i) for i in INSTRUMENTS])
    )
    items = await store.alerts.pending("s1", limit=100)
    batches: list[list[Outcome]] = []

    def written(outcomes: list[Outcome], updated: dict[str, StoredSubscription]) -> None:
        batches.append(outcomes)
        assert updated["s1"].consecutive_dead == 1, "the last outcome (by id) is a dead letter"

    registry = CollectorRegistry()
    write_time = AlertMetrics.create(registry).outcome_writes
    writer = OutcomeWriter(
        store.alerts, disable_after_dead=5, written=written, retry_s=0.1, write_time=write_time
    )
    *delivered, last = items
    for item in delivered:
        writer.put(Outcome(item, "delivered", 1_000))
    writer.put(Outcome(last, "dead", 1_000, "HTTP 400"))
    await writer.flush()
    await writer.flush()  # nothing left: no transaction
    assert [len(b) for b in batches] == [len(items)]
    assert await store.alerts.counts("s1") == OutboxCounts(0, len(items) - 1, 1)
    assert registry.get_sample_value("mr_alert_outcome_write_seconds_count") == 1


async def test_a_row_retried_then_delivered_in_one_batch_ends_delivered(store: SqlStore) -> None:
    await store.alerts.add_subscription(
        subscription("s1", "https://desk.example/hook", AlertFilter())
    )
    await store.write_batch(StoreBatch([announcement("a1")], signals=[signal("a1")]))
    (item,) = await store.alerts.pending("s1", limit=10)
    writer = OutcomeWriter(store.alerts, disable_after_dead=5, written=lambda *_: None, retry_s=0.1)
    writer.put(Outcome(item, "retry", 1_000, "HTTP 503", next_attempt_at_us=2_000))
    writer.put(Outcome(replace(item, attempts=1, next_attempt_at_us=2_000), "delivered", 2_000))
    await writer.flush()
    assert await store.alerts.counts("s1") == OutboxCounts(0, 1, 0)


async def test_outcomes_recorded_while_their_subscription_is_removed(store: SqlStore) -> None:
    """On PostgreSQL outcomes are recorded beside other writes (row locks, no in-process lock):
    recording and removing the same subscription at once lock it in the same order, so both
    end (no deadlock aborts either) and nothing of the subscription is left."""
    for round_ in range(10):
        sid = f"s{round_}"
        await store.alerts.add_subscription(
            subscription(sid, "https://desk.example/h", AlertFilter())
        )
        await store.write_batch(
            StoreBatch(
                [announcement(f"a{round_}")],
                signals=[signal(f"a{round_}", i) for i in INSTRUMENTS],
            )
        )
        items = await store.alerts.pending(sid, limit=100)
        outcomes = [Outcome(item, "dead", 1_000, "HTTP 400") for item in items]
        updated, removed = await asyncio.gather(
            store.alerts.record(outcomes, disable_after_dead=1),
            store.alerts.remove_subscription(sid),
        )
        assert removed
        assert set(updated) <= {sid}  # empty if the removal went first
        assert await store.alerts.subscription(sid) is None
        assert await store.alerts.counts(sid) == OutboxCounts(0, 0, 0)
