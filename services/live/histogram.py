"""A Prometheus histogram that takes many equal observations at once.

Revisions sent together share one latency, so the live path observes a value with a count:
one bucket search per distinct value instead of one `Histogram.observe` per revision. Exposed
through prometheus_client's public custom-collector API with the same series (`_bucket`,
`_count`, `_sum`) a `Histogram` of that name and buckets has.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class CountedHistogram(Collector):
    def __init__(
        self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._bounds = [float(b) for b in buckets]
        if self._bounds != sorted(self._bounds) or not self._bounds:
            raise ValueError("buckets must be given in increasing order")
        if self._bounds[-1] != float("inf"):
            self._bounds.append(float("inf"))
        self._le: list[str] = [
            floatToGoString(bound)  # type: ignore[no-untyped-call]
            for bound in self._bounds
        ]
        """The buckets' `le` labels, written once."""
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe(self, value: float, count: int = 1) -> None:
        """`count` observations of `value`."""
        self.observe_all([(value, count)])

    def observe_all(self, observed: Iterable[tuple[float, int]]) -> None:
        """Each (value, count): `count` observations of `value`."""
        bounds, counts = self._bounds, self._counts
        with self._lock:
            for value, count in observed:
                if count > 0:
                    counts[bisect.bisect_left(bounds, value)] += count
                    self._sum += value * count

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative = list(zip(self._le, itertools.accumulate(counts), strict=True))
        yield HistogramMetricFamily(
            self._name, self._documentation, buckets=cumulative, sum_value=total
        )
