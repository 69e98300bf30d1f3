"""Latency as desks feel it: timed per revision from its inputs' arrival in Kafka."""

from prometheus_client import CollectorRegistry

from services.live_metrics import LiveMetrics
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
    count, total, fast = histogram(registry, "mr_tick_to_signal_seconds", "0.5")
    assert count == 3
    assert total == 2.0 + 2.0 + 0.25
    assert fast == 1


def test_revisions_of_the_idle_timer_are_not_timed() -> None:
    registry = CollectorRegistry()
    metrics = LiveMetrics.create(registry, wall_s=WallClock(ARRIVED_MS / 1000))
    metrics.published([signal("a1", final=True)], arrived_ms={})
    assert histogram(registry, "mr_tick_to_signal_seconds", "0.5")[0] == 0
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
