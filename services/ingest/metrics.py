"""Prometheus instruments of the ingest layer."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True, slots=True)
class IngestMetrics:
    consumed: Counter
    rejected: Counter
    duplicate: Counter
    lag: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IngestMetrics:
        return cls(
            consumed=Counter(
                "mr_events_consumed",
                "Records read from Kafka, valid or not.",
                ["topic"],
                registry=registry,
            ),
            rejected=Counter(
                "mr_events_rejected",
                "Records sent to the dead-letter topic, by reason.",
                ["topic", "reason"],
                registry=registry,
            ),
            duplicate=Counter(
                "mr_events_duplicate",
                "Valid records dropped as repeats of an event already seen.",
                ["topic"],
                registry=registry,
            ),
            lag=Gauge(
                "mr_consumer_lag_messages",
                "Records in the partition not yet consumed (high watermark - position).",
                ["topic", "partition"],
                registry=registry,
            ),
        )
