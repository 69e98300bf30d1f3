"""Prometheus instruments of the live path: what the engine emitted, how fast, and the latest
reaction per instrument and horizon. Published batches are counted together (at least once a
second, and at every scrape), never per price event; latency once per revision, from its
inputs' arrival in Kafka, with its own batch's acknowledgement."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from services.engine import InstrumentStatus
from services.events import Announcement, Signal
from services.live.histogram import CountedHistogram
from services.live.series import BatchSeries
from services.live.tally import Part, parts_of, tally

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
_FINE_STEPS = (
    *(1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0, 2.2, 2.4, 2.7, 3.0),
    *(3.3, 3.6, 3.9, 4.3, 4.7, 5.1, 5.6, 6.2, 6.8, 7.5, 8.2, 9.1),
)
"""The E24 preferred numbers and 1.4: neighbours at most 12.5% apart."""
TICK_TO_SIGNAL_BUCKETS_S = tuple(
    round(step * 10.0**decade, 6)
    for decade in range(-3, 3)
    for step in (_FINE_STEPS if decade in (-2, -1) else _STEPS)
    if decade < 2 or step <= 1.5
)
"""1 ms to 150 s: at most 12.5% apart from 10 ms to 1 s, where the target (100 ms) and a loaded
run's tail are, so a quantile interpolated within a bucket is within a few percent of the exact
one; at most a third apart elsewhere, past the worst backlog a run has shown."""
FIRST_SIGNAL_BUCKETS_S = (
    *TICK_TO_SIGNAL_BUCKETS_S,
    *(300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600, 48 * 3600, 72 * 3600),
)
"""As fine as a revision's latency up to minutes, then hours: a closed market's announcement
waits for the next open."""
PENDING_ANNOUNCEMENTS_MAX = 10_000
FOLD_EVERY_S = 1.0
FOLD_BATCHES = 256
"""Published revisions are counted into the series this often at least (and at each scrape)."""


@dataclass(slots=True)
class LiveMetrics:
    signals: BatchSeries
    tick_to_signal: CountedHistogram
    announcement_to_first_signal: Histogram
    store_write: Histogram
    latest_return: BatchSeries
    latest_z: BatchSeries
    last_announcement: Gauge
    last_signal: Gauge
    open_windows: Gauge
    late: Counter
    watermark_lag: Gauge
    staleness: Gauge
    market_open: Gauge
    wall_s: Callable[[], float] = time.time
    """Epoch seconds, the clock Kafka's record timestamps are on."""
    _awaiting_first: OrderedDict[str, float] = field(default_factory=OrderedDict)
    _late_seen: dict[str, int] = field(default_factory=dict)
    _children: dict[tuple[int, tuple[str, ...]], Any] = field(default_factory=dict)
    _pending: list[tuple[list[Part], Mapping[str, int], float]] = field(default_factory=list)
    """Published and not folded yet: each batch's revisions, arrival times and ack time."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    """Folds come from the loop and from scrapes (which may run in another thread)."""

    @classmethod
    def create(
        cls,
        registry: CollectorRegistry,
        instruments: Iterable[str] = (),
        horizons: Iterable[str] = (),
        wall_s: Callable[[], float] = time.time,
    ) -> LiveMetrics:
        by_instrument = ["instrument"]
        by_reaction = ["instrument", "horizon"]
        fold_first = _FoldFirst(registry)  # registered first: a scrape folds, then reads
        metrics = cls(
            signals=BatchSeries(
                "mr_signals_emitted",
                "Reaction revisions stored and published.",
                ["instrument", "horizon", "final"],
                registry,
                kind="counter",
            ),
            tick_to_signal=CountedHistogram(
                "mr_tick_to_signal_seconds",
                "Per revision: from the record that triggered it (the newest of its instrument "
                "in its batch) reaching Kafka (record timestamp) to the revision acknowledged "
                "on market.signals; time waiting in Kafka included.",
                buckets=TICK_TO_SIGNAL_BUCKETS_S,
                registry=registry,
            ),
            announcement_to_first_signal=Histogram(
                "mr_announcement_to_first_signal_seconds",
                "From an announcement reaching Kafka (record timestamp) to its first revision "
                "acknowledged (a closed market's first revision waits for the next open).",
                buckets=FIRST_SIGNAL_BUCKETS_S,
                registry=registry,
            ),
            store_write=Histogram(
                "mr_store_write_seconds",
                "One engine batch written to the store (one transaction).",
                buckets=LATENCY_BUCKETS_S,
                registry=registry,
            ),
            latest_return=BatchSeries(
                "mr_reaction_return_pct",
                "Return of the latest revision, per instrument and horizon.",
                by_reaction,
                registry,
                kind="gauge",
            ),
            latest_z=BatchSeries(
                "mr_reaction_z_score",
                "z-score of the latest revision, per instrument and horizon.",
                by_reaction,
                registry,
                kind="gauge",
            ),
            last_announcement=Gauge(
                "mr_last_announcement_timestamp_seconds",
                "Wall-clock time the last announcement was received.",
                registry=registry,
            ),
            last_signal=Gauge(
                "mr_last_signal_timestamp_seconds",
                "Wall-clock time the last revision was published.",
                registry=registry,
            ),
            open_windows=Gauge(
                "mr_open_windows", "Reaction windows not final yet.", registry=registry
            ),
            late=Counter(
                "mr_events_late",
                "Price events older than the allowed lateness, counted and dropped.",
                by_instrument,
                registry=registry,
            ),
            watermark_lag=Gauge(
                "mr_watermark_lag_seconds",
                "Wall-clock time minus the instrument's event time (watermark).",
                by_instrument,
                registry=registry,
            ),
            staleness=Gauge(
                "mr_price_staleness_seconds",
                "Seconds since the last price event while the market is open at the "
                "instrument's event time; 0 while it is closed.",
                by_instrument,
                registry=registry,
            ),
            market_open=Gauge(
                "mr_market_open",
                "1 when the calendar says the market is open at the instrument's event time.",
                by_instrument,
                registry=registry,
            ),
            wall_s=wall_s,
        )
        fold_first.fold = metrics.fold
        horizons = list(horizons)
        for instrument in instruments:
            metrics.late.labels(instrument)
            metrics.signals.add_all(
                {(instrument, h, final): 0 for h in horizons for final in ("true", "false")}
            )
        return metrics

    def announcements_received(
        self, announcements: Sequence[Announcement], arrived_ms: Mapping[str, int]
    ) -> None:
        """`arrived_ms`: each announcement's Kafka timestamp (epoch ms); now if absent."""
        if not announcements:
            return
        now_ms = self.wall_s() * 1000
        with self._lock:  # a fold (maybe a scrape's, in another thread) reads them
            for announcement in announcements:
                key = announcement.id
                if key not in self._awaiting_first:
                    self._awaiting_first[key] = arrived_ms.get(key, now_ms) / 1000
            while len(self._awaiting_first) > PENDING_ANNOUNCEMENTS_MAX:
                self._awaiting_first.popitem(last=False)
        self.last_announcement.set_to_current_time()

    def published(
        self,
        signals: Sequence[Signal],
        *,
        arrived_ms: Mapping[str, int],
        acked_s: float | None = None,
    ) -> None:
        """After `signals` were acknowledged, at `acked_s` (epoch seconds; now if None).
        `arrived_ms`: the newest Kafka timestamp (epoch ms) per instrument of the batch that
        caused them; empty for revisions the idle timer caused (no record waited for them).
        Kept until the next `fold` (at most FOLD_EVERY_S or FOLD_BATCHES later, or a scrape):
        counting many batches at once costs about as little as counting one."""
        if not signals:
            return
        now = self.wall_s() if acked_s is None else acked_s
        with self._lock:
            self._pending.append((parts_of(signals), arrived_ms, now))
            due = len(self._pending) >= FOLD_BATCHES or now - self._pending[0][2] >= FOLD_EVERY_S
        if due:
            self.fold()

    def fold(self) -> None:
        """Count what was published since the last fold into the series: once for all its
        batches (services/live/tally.py: the engine's revisions as arrays), then each
        Prometheus call per series (a few dozen), never per revision; each batch's latency
        with its own acknowledgement time."""
        with self._lock:
            pending, self._pending = self._pending, []
            if not pending:
                return
            counted = tally([parts for parts, _, _ in pending])
            self.tick_to_signal.observe_all(_latencies(pending, counted.by_batch))
            self.signals.add_all(counted.emitted)
            self.latest_return.set_all(counted.latest_return)
            self.latest_z.set_all(counted.latest_z)
            self.last_signal.set(pending[-1][2])
            if self._awaiting_first:
                for announcement_id, batch in counted.first_batch.items():
                    received = self._awaiting_first.pop(announcement_id, None)
                    if received is not None:
                        self.announcement_to_first_signal.observe(pending[batch][2] - received)

    def _child(self, family: Counter | Gauge, key: tuple[str, ...]) -> Any:
        """`family.labels(*key)`, remembered: a batch touches the same few dozen series."""
        child = self._children.get((id(family), key))
        if child is None:
            child = self._children[(id(family), key)] = family.labels(*key)
        return child

    def engine_state(self, status: Sequence[InstrumentStatus], *, now_s: float) -> None:
        """`now_s`: the engine clock's monotonic seconds, the same clock as `last_arrival_s`."""
        self.open_windows.set(sum(instrument.open_windows for instrument in status))
        wall_us = self.wall_s() * 1_000_000
        for instrument in status:
            symbol = (instrument.symbol,)
            late = instrument.late_dropped - self._late_seen.get(symbol[0], 0)
            if late > 0:
                self._child(self.late, symbol).inc(late)
                self._late_seen[symbol[0]] = instrument.late_dropped
            if instrument.watermark_us is not None:
                lag_s = (wall_us - instrument.watermark_us) / 1e6
                self._child(self.watermark_lag, symbol).set(lag_s)
            self._child(self.market_open, symbol).set(1 if instrument.market_open else 0)
            last = instrument.last_arrival_s
            stale_s = 0.0
            if instrument.market_open and last is not None:
                stale_s = now_s - last
            self._child(self.staleness, symbol).set(stale_s)


def _latencies(
    pending: Sequence[tuple[object, Mapping[str, int], float]],
    by_batch: Sequence[Mapping[str, int]],
) -> Iterator[tuple[float, int]]:
    """Each revision timed from the newest record of its instrument in its batch to the
    batch's acknowledgement: one latency per instrument and batch, with its count of
    revisions."""
    for (_, arrived_ms, acked_s), by_instrument in zip(pending, by_batch, strict=True):
        for instrument, count in by_instrument.items():
            arrived = arrived_ms.get(instrument)
            if arrived is not None:
                yield max(0.0, acked_s - arrived / 1000), count


class _FoldFirst(Collector):
    """No series of its own: makes every scrape fold what was published since the last fold
    before the registry reads the series (collectors are read in the order registered)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.fold: Callable[[], None] = lambda: None
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        self.fold()
        return iter(())
