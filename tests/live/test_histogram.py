"""A counted histogram exposes what prometheus_client's Histogram would for the same values."""

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from services.live.histogram import CountedHistogram

BUCKETS = (0.001, 0.0025, 0.01, 0.1, 0.5, 1, 10)
OBSERVED = [(0.001, 3), (0.0049, 2), (0.7, 5), (20.0, 1), (0.1, 4), (0.0, 1), (1.0, 0)]


def exposition(registry: CollectorRegistry) -> list[str]:
    return [
        line
        for line in generate_latest(registry).decode().splitlines()
        if "_created" not in line and not line.startswith("mr_x_seconds_sum")
    ]


def test_counted_observations_expose_the_series_of_single_ones() -> None:
    single, counted = CollectorRegistry(), CollectorRegistry()
    histogram = Histogram("mr_x_seconds", "doc", buckets=BUCKETS, registry=single)
    bulk = CountedHistogram("mr_x_seconds", "doc", BUCKETS, counted)
    for value, count in OBSERVED:
        for _ in range(count):
            histogram.observe(value)
        bulk.observe(value, count)
    assert exposition(counted) == exposition(single)
    total = counted.get_sample_value("mr_x_seconds_sum")
    assert total == pytest.approx(sum(v * n for v, n in OBSERVED))
    assert counted.get_sample_value("mr_x_seconds_bucket", {"le": "0.001"}) == 4
    assert counted.get_sample_value("mr_x_seconds_count") == 16


def test_observations_given_together_count_as_given_one_by_one() -> None:
    one_by_one, together = CollectorRegistry(), CollectorRegistry()
    single = CountedHistogram("mr_x_seconds", "doc", BUCKETS, one_by_one)
    for value, count in OBSERVED:
        single.observe(value, count)
    CountedHistogram("mr_x_seconds", "doc", BUCKETS, together).observe_all(OBSERVED)
    assert generate_latest(together) == generate_latest(one_by_one)


def test_buckets_must_increase() -> None:
    with pytest.raises(ValueError, match="increasing"):
        CountedHistogram("mr_y_seconds", "doc", (1, 0.5), CollectorRegistry())
