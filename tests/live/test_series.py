"""Series written a batch at a time expose what prometheus_client's Gauge and Counter would."""

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from services.live.series import BatchSeries

LABELS = ["instrument", "horizon"]
Batch = dict[tuple[str, ...], float]


def exposition(registry: CollectorRegistry) -> list[str]:
    return [
        line for line in generate_latest(registry).decode().splitlines() if "_created" not in line
    ]


def test_gauges_set_in_batches_expose_the_latest_value_of_each_series() -> None:
    single, batched = CollectorRegistry(), CollectorRegistry()
    gauge = Gauge("mr_x_pct", "doc", LABELS, registry=single)
    series = BatchSeries("mr_x_pct", "doc", LABELS, batched, kind="gauge")
    batches: list[Batch] = [
        {("KOSPI", "15m"): 1.0, ("KOSDAQ", "close"): -2.5},
        {("KOSPI", "15m"): 3.0},
    ]
    for batch in batches:
        for labels, value in batch.items():
            gauge.labels(*labels).set(value)
        series.set_all(batch)
    assert exposition(batched) == exposition(single)
    assert batched.get_sample_value("mr_x_pct", {"instrument": "KOSPI", "horizon": "15m"}) == 3.0


def test_counters_added_in_batches_expose_their_totals() -> None:
    single, batched = CollectorRegistry(), CollectorRegistry()
    counter = Counter("mr_y", "doc", LABELS, registry=single)
    series = BatchSeries("mr_y", "doc", LABELS, batched, kind="counter")
    counter.labels("KOSPI", "close")  # created at zero
    series.add_all({("KOSPI", "close"): 0})
    increments: list[Batch] = [{("KOSPI", "15m"): 2}, {("KOSPI", "15m"): 3, ("KOSDAQ", "15m"): 1}]
    for batch in increments:
        for labels, increment in batch.items():
            counter.labels(*labels).inc(increment)
        series.add_all(batch)
    assert sorted(exposition(batched)) == sorted(exposition(single))
    assert batched.get_sample_value("mr_y_total", {"instrument": "KOSPI", "horizon": "15m"}) == 5
    assert batched.get_sample_value("mr_y_total", {"instrument": "KOSPI", "horizon": "close"}) == 0


def test_counters_only_grow() -> None:
    series = BatchSeries("mr_z", "doc", LABELS, CollectorRegistry(), kind="counter")
    with pytest.raises(ValueError, match="only grow"):
        series.add_all({("KOSPI", "15m"): -1})
