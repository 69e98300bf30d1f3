"""The dispatcher's metrics (on an injected registry)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

OUTCOMES = ("delivered", "retried", "dead")


@dataclass(frozen=True, slots=True)
class AlertMetrics:
    deliveries: Counter
    latency: Histogram
    backlog: Gauge
    disabled: Gauge
    outcome_writes: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> AlertMetrics:
        deliveries = Counter(
            "mr_alert_deliveries",
            "Webhook delivery attempts by outcome: delivered (2xx), retried, dead (given up).",
            ["outcome"],
            registry=registry,
        )
        for outcome in OUTCOMES:
            deliveries.labels(outcome)
        return cls(
            deliveries,
            Histogram(
                "mr_alert_delivery_latency_seconds",
                "From a revision's emission to the receiver's 2xx.",
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
                registry=registry,
            ),
            Gauge(
                "mr_alert_outbox_backlog",
                "Alerts queued and not yet delivered or dead-lettered.",
                registry=registry,
            ),
            Gauge(
                "mr_alert_subscriptions_disabled",
                "Subscriptions disabled after consecutive dead letters.",
                registry=registry,
            ),
            Histogram(
                "mr_alert_outcome_write_seconds",
                "One transaction storing a batch of delivery outcomes.",
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
                registry=registry,
            ),
        )
