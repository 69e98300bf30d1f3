"""Latency as desks feel it: timed per revision from its inputs' arrival in Kafka."""

import time
from dataclasses import replace
from itertools import pairwise

from prometheus_client import CollectorRegistry

from services.engine import InstrumentStatus
from services.live.metrics import (
    FOLD_BATCHES,
    FOLD_EVERY_S,
    PENDING_ANNOUNCEMENTS_MAX,
    TICK_TO_SIGNAL_BUCKETS_S,
    LiveMetrics,
)
from tests.factories import announcement, signal

ARRIVED_MS = 1_751_932_800_000


class WallClock:
    def __init__(self, now_s: float) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def histogram(registry: CollectorRegistry, name: str, le: str) -> tuple[float, float, float]:
    """Count, sum, and how many observations fell at or under `le` seconds."""

    def sample(suffix: str, **labels: str) -> float:
        value = registry.get_sample_value(f"{name}_{suffix}", labels)
        assert value is not None
        return value

    return sample("count"), sample("sum"), sample("bucket", le=le)


def test_each_revision_is_timed_from_the_newest_record_of_its_instrument() -> None:
    registry, clock = CollectorRegistry(), WallClock(ARRIVED_MS / 1000 + 2.0)
    metrics = LiveMetrics.create(registry, wall_s=clock)
    revisions = [
        signal("a1", "KOSPI", "15m"),
        signal("a1", "KOSPI", "close"),
        signal("a1", "KOSDAQ", "15m"),
        signal("a1", "USDKRW", "15m"),  # no record of it in the batch: not timed
    ]
    arrived = {"KOSPI": ARRIVED_MS, "KOSDAQ": ARRIVED_MS + 1_750}
    metrics.published(revisions, arrived_ms=arrived)
    count, total, fast = histogram(registry, "mr_tick_to_signal_seconds", "0.51")
    assert count == 3
    assert total == 2.0 + 2.0 + 0.25
    assert fast == 1


def test_revisions_of_the_idle_timer_are_not_timed() -> None:
    registry = CollectorRegistry()
    metrics = LiveMetrics.create(registry, wall_s=WallClock(ARRIVED_MS / 1000))
    metrics.published([signal("a1", final=True)], arrived_ms={})
    assert histogram(registry, "mr_tick_to_signal_seconds", "0.51")[0] == 0
    assert (
        registry.get_sample_value(
            "mr_signals_emitted_total", {"instrument": "KOSPI", "horizon": "close", "final": "true"}
        )
        == 1
    )


def test_first_signal_is_timed_from_the_announcement_reaching_kafka() -> None:
    registry, clock = CollectorRegistry(), WallClock(ARRIVED_MS / 1000 + 30.0)
    metrics = LiveMetrics.create(registry, wall_s=clock)
    metrics.announcements_received([announcement("a1")], {"a1": ARRIVED_MS})
    clock.now_s += 10.0
    metrics.published([signal("a1", "KOSPI", "15m")], arrived_ms={})
    metrics.published([signal("a1", "KOSPI", "close")], arrived_ms={})  # not the first any more
    count, total, within_a_minute = histogram(
        registry, "mr_announcement_to_first_signal_seconds", "60.0"
    )
    assert (count, total, within_a_minute) == (1, 40.0, 1)


def gauge(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_the_latest_revision_of_each_reaction_sets_its_gauges() -> None:
    registry = CollectorRegistry()
    metrics = LiveMetrics.create(registry, wall_s=WallClock(ARRIVED_MS / 1000))
    kospi_close = {"instrument": "KOSPI", "horizon": "close"}
    metrics.published(
        [
            signal("a1", "KOSPI", "close", 1, return_pct=1.0, z_score=1.5),
            signal("a1", "KOSPI", "close", 2, return_pct=2.5, z_score=None),  # the batch's last
            signal("a1", "KOSDAQ", "close", 1, return_pct=-0.5, z_score=-2.0),
        ],
        arrived_ms={},
    )
    assert gauge(registry, "mr_reaction_return_pct", **kospi_close) == 2.5
    assert gauge(registry, "mr_reaction_z_score", **kospi_close) is None  # unknown: not set
    assert gauge(registry, "mr_reaction_z_score", instrument="KOSDAQ", horizon="close") == -2.0
    emitted = {**kospi_close, "final": "false"}
    assert gauge(registry, "mr_signals_emitted_total", **emitted) == 2

    metrics.published([signal("a1", "KOSPI", "close", 3, final=True, z_score=3.0)], arrived_ms={})
    assert gauge(registry, "mr_reaction_z_score", **kospi_close) == 3.0
    assert gauge(registry, "mr_signals_emitted_total", **emitted) == 2
    assert gauge(registry, "mr_signals_emitted_total", **{**kospi_close, "final": "true"}) == 1


def test_engine_state_open_windows_late_drops_market_hours_and_staleness() -> None:
    registry = CollectorRegistry()
    metrics = LiveMetrics.create(registry, ["KOSPI", "USDKRW"], ["close"])
    watermark_us = (ARRIVED_MS - 90_000) * 1000
    kospi = InstrumentStatus("KOSPI", watermark_us, 100.0, True, open_windows=3, late_dropped=2)
    usdkrw = InstrumentStatus("USDKRW", None, 50.0, False, open_windows=1, late_dropped=0)
    before_s = time.time()
    metrics.engine_state([kospi, usdkrw], now_s=130.0)
    after_s = time.time()

    assert gauge(registry, "mr_open_windows") == 4
    assert gauge(registry, "mr_events_late_total", instrument="KOSPI") == 2
    assert gauge(registry, "mr_events_late_total", instrument="USDKRW") == 0  # created at start
    assert gauge(registry, "mr_market_open", instrument="KOSPI") == 1
    assert gauge(registry, "mr_market_open", instrument="USDKRW") == 0
    # open: seconds since its last price (engine clock); closed: never stale
    assert gauge(registry, "mr_price_staleness_seconds", instrument="KOSPI") == 30.0
    assert gauge(registry, "mr_price_staleness_seconds", instrument="USDKRW") == 0.0
    lag = gauge(registry, "mr_watermark_lag_seconds", instrument="KOSPI")
    assert lag is not None
    assert before_s - watermark_us / 1e6 <= lag <= after_s - watermark_us / 1e6
    assert gauge(registry, "mr_watermark_lag_seconds", instrument="USDKRW") is None  # no data

    # the engine's late count is cumulative: only what is new is added
    metrics.engine_state([replace(kospi, late_dropped=5, open_windows=0)], now_s=131.0)
    assert gauge(registry, "mr_events_late_total", instrument="KOSPI") == 5
    assert gauge(registry, "mr_open_windows") == 0
    assert gauge(registry, "mr_price_staleness_seconds", instrument="KOSPI") == 31.0


def test_an_announcement_is_timed_from_its_first_arrival_or_now_without_one() -> None:
    registry, clock = CollectorRegistry(), WallClock(ARRIVED_MS / 1000 + 5.0)
    metrics = LiveMetrics.create(registry, wall_s=clock)
    metrics.announcements_received([announcement("a1")], {"a1": ARRIVED_MS})
    metrics.announcements_received([announcement("a1")], {"a1": ARRIVED_MS + 4_000})  # again
    metrics.announcements_received([announcement("a2")], {})  # no Kafka timestamp: now
    clock.now_s += 1.0
    metrics.published([signal("a1"), signal("a2")], arrived_ms={})
    count, total, _ = histogram(registry, "mr_announcement_to_first_signal_seconds", "10.0")
    assert (count, total) == (2, 6.0 + 1.0)


def test_announcements_awaiting_their_first_signal_are_bounded() -> None:
    registry = CollectorRegistry()
    metrics = LiveMetrics.create(registry, wall_s=WallClock(ARRIVED_MS / 1000))
    ids = [f"a{i}" for i in range(PENDING_ANNOUNCEMENTS_MAX + 1)]
    metrics.announcements_received([announcement(i) for i in ids], {})
    # the oldest was forgotten: its first signal is not timed, the newest's is
    metrics.published([signal(ids[0]), signal(ids[-1])], arrived_ms={})
    assert histogram(registry, "mr_announcement_to_first_signal_seconds", "60.0")[0] == 1


def test_latency_buckets_resolve_the_target_and_reach_past_a_long_backlog() -> None:
    bounds = TICK_TO_SIGNAL_BUCKETS_S
    assert bounds == tuple(sorted(bounds))
    assert bounds[0] <= 0.001
    assert bounds[-1] >= 120
    assert 0.1 in bounds  # the target is a bucket's edge
    # neighbours at most a third apart: a quantile read from the buckets is close to the truth
    assert all(high / low <= 4 / 3 + 1e-9 for low, high in pairwise(bounds))
    # and at most 12.5% apart from 10 ms to 1 s, where the target and a loaded run's tail are
    fine = [(low, high) for low, high in pairwise(bounds) if 0.01 <= low < 1]
    assert fine[0][0] == 0.01
    assert fine[-1][1] == 1.0
    assert all(high / low <= 1.125 + 1e-9 for low, high in fine)


def test_revisions_are_timed_when_acknowledged_not_when_observed() -> None:
    registry = CollectorRegistry()
    metrics = LiveMetrics.create(registry, wall_s=WallClock(ARRIVED_MS / 1000 + 9.0))
    acked_s = ARRIVED_MS / 1000 + 0.25
    metrics.published([signal("a1", "KOSPI")], arrived_ms={"KOSPI": ARRIVED_MS}, acked_s=acked_s)
    count, total, _ = histogram(registry, "mr_tick_to_signal_seconds", "0.51")
    assert (count, total) == (1, 0.25)


def test_the_gauges_take_the_last_revision_of_a_batch_final_or_not() -> None:
    kospi_close = {"instrument": "KOSPI", "horizon": "close"}
    for revisions, expected in [
        ([signal(return_pct=1.0), signal(revision=2, final=True, return_pct=2.0)], 2.0),
        ([signal(final=True, return_pct=3.0), signal(revision=2, return_pct=4.0)], 4.0),
    ]:
        registry = CollectorRegistry()
        metrics = LiveMetrics.create(registry, wall_s=WallClock(ARRIVED_MS / 1000))
        metrics.published(revisions, arrived_ms={})
        assert gauge(registry, "mr_reaction_return_pct", **kospi_close) == expected
        for final in ("true", "false"):
            emitted = gauge(registry, "mr_signals_emitted_total", **kospi_close, final=final)
            assert emitted == 1


def test_batches_counted_together_keep_their_own_latency() -> None:
    registry = CollectorRegistry()
    metrics = LiveMetrics.create(registry, wall_s=WallClock(ARRIVED_MS / 1000))
    arrived = {"KOSPI": ARRIVED_MS}
    metrics.published(
        [signal("a1", "KOSPI", "15m")], arrived_ms=arrived, acked_s=0.5 + ARRIVED_MS / 1000
    )
    metrics.published(
        [signal("a1", "KOSPI", "30m"), signal("a1", "KOSPI", "close")],
        arrived_ms=arrived,
        acked_s=2.0 + ARRIVED_MS / 1000,
    )
    assert histogram(registry, "mr_tick_to_signal_seconds", "0.51") == (3, 0.5 + 2 * 2.0, 1)
    assert gauge(registry, "mr_last_signal_timestamp_seconds") == 2.0 + ARRIVED_MS / 1000


def emitted_total(metrics: LiveMetrics) -> float:
    """What the series hold, read without the scrape's fold."""
    return sum(
        sample.value
        for family in metrics.signals.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


def test_published_revisions_are_counted_within_a_bound() -> None:
    """At most FOLD_BATCHES batches or FOLD_EVERY_S seconds wait to be counted (a scrape
    counts them at once: the tests above)."""
    metrics = LiveMetrics.create(CollectorRegistry(), wall_s=WallClock(ARRIVED_MS / 1000))
    acked_s = ARRIVED_MS / 1000
    for _ in range(FOLD_BATCHES - 1):
        metrics.published([signal()], arrived_ms={}, acked_s=acked_s)
    assert emitted_total(metrics) == 0
    metrics.published([signal()], arrived_ms={}, acked_s=acked_s)
    assert emitted_total(metrics) == FOLD_BATCHES

    metrics.published([signal()], arrived_ms={}, acked_s=acked_s)
    metrics.published([signal()], arrived_ms={}, acked_s=acked_s + FOLD_EVERY_S / 2)
    assert emitted_total(metrics) == FOLD_BATCHES
    metrics.published([signal()], arrived_ms={}, acked_s=acked_s + FOLD_EVERY_S)
    assert emitted_total(metrics) == FOLD_BATCHES + 3
