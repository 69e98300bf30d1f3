"""What a running engine process reports, read from outside: its /metrics scraped, a scraped
histogram's quantile, its prices consumed so far, and its CPU time."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

Samples = list[tuple[dict[str, str], float, str]]
"""A metric family's samples: (labels, value, sample name)."""


def scrape(base: str) -> dict[str, Samples]:
    try:
        text = httpx.get(f"{base}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    return {
        family.name: [(s.labels, s.value, s.name) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def consumed(base: str, topic: str) -> float:
    samples = scrape(base).get("mr_events_consumed", [])
    return sum(
        v for labels, v, name in samples if labels.get("topic") == topic and name.endswith("_total")
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def histogram_quantile(samples: Samples, q: float) -> float:
    """The q-quantile of a scraped histogram, interpolated within its bucket as PromQL's
    histogram_quantile does (seconds; NaN when empty)."""
    buckets = sorted(
        (float(labels["le"]), v) for labels, v, name in samples if name.endswith("_bucket")
    )
    total = buckets[-1][1] if buckets else 0.0
    if not total:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - below) / (cumulative - below)
        lower, below = upper, cumulative
    return lower


def binned(values: Sequence[float], like: Samples) -> Samples:
    """`values` counted into the buckets of the scraped histogram `like`, as its samples: a
    quantile of both is then interpolated alike, so what differs between them is what they
    measured, not where a bucket's observations lie within it."""
    bounds = sorted(float(labels["le"]) for labels, _, name in like if name.endswith("_bucket"))
    counts = np.searchsorted(np.sort(np.asarray(values, dtype=float)), bounds, side="right")
    return [
        ({"le": str(b)}, float(c), "binned_bucket") for b, c in zip(bounds, counts, strict=True)
    ]


def histogram_count(samples: Samples) -> float:
    return sum(v for _, v, name in samples if name.endswith("_count"))
