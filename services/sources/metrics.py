"""Per-source metrics (an injected registry)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

LAG_BUCKETS_S = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 24 * 3600, 3 * 86400, 7 * 86400)


@dataclass(frozen=True, slots=True)
class SourceMetrics:
    seen: Counter
    produced: Counter
    unrouted: Counter
    errors: Counter
    lag: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> SourceMetrics:
        return cls(
            seen=Counter(
                "mr_source_items_seen",
                "New items read from a source.",
                ["source"],
                registry=registry,
            ),
            produced=Counter(
                "mr_source_items_produced",
                "Items produced to tariff.announcements.",
                ["source"],
                registry=registry,
            ),
            unrouted=Counter(
                "mr_source_items_unrouted",
                "Items kept for a person to complete (no target country found).",
                ["source"],
                registry=registry,
            ),
            errors=Counter(
                "mr_source_errors",
                "Failed polls: fetch (HTTP error, timeout) or malformed (unreadable body).",
                ["source", "kind"],
                registry=registry,
            ),
            lag=Histogram(
                "mr_source_lag_seconds",
                "Now minus the item's publication time, when the item is read.",
                ["source"],
                buckets=LAG_BUCKETS_S,
                registry=registry,
            ),
        )
