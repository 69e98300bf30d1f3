"""Labelled Prometheus series written a batch at a time.

The live path sets the latest value of a few dozen series per batch; through `Gauge.labels(..)
.set(..)` each costs a validation and a lock. Here a batch is one dict update under one lock,
and the series are built when scraped, through prometheus_client's public custom-collector API,
with the names and samples a `Gauge` or `Counter` of the same name and labels exposes (less a
counter's `_created`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

Labels = tuple[str, ...]


class BatchSeries(Collector):
    def __init__(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str],
        registry: CollectorRegistry,
        *,
        kind: Literal["gauge", "counter"],
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labels = list(labels)
        self._kind = kind
        self._values: dict[Labels, float] = {}
        self._lock = threading.Lock()
        registry.register(self)

    def set_all(self, values: Mapping[Labels, float]) -> None:
        """Gauges: these series take these values (others keep theirs)."""
        with self._lock:
            self._values.update(values)

    def add_all(self, increments: Mapping[Labels, float]) -> None:
        """Counters: each series grows by its increment (0 creates it)."""
        if any(v < 0 for v in increments.values()):
            raise ValueError("counters only grow")
        with self._lock:
            values = self._values
            for key, increment in increments.items():
                values[key] = values.get(key, 0.0) + increment

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        with self._lock:
            values = list(self._values.items())
        family: GaugeMetricFamily | CounterMetricFamily
        if self._kind == "gauge":
            family = GaugeMetricFamily(self._name, self._documentation, labels=self._labels)
        else:
            family = CounterMetricFamily(self._name, self._documentation, labels=self._labels)
        for labels, value in values:
            family.add_metric(list(labels), value)
        yield family
