"""Cross-event statistics and bar resampling, computed with polars."""

from __future__ import annotations

from typing import Literal

import polars as pl

ResampleInterval = Literal["1m", "5m", "1h", "1d"]

STATS_SCHEMA: dict[str, pl.DataType] = {
    "group": pl.String(),
    "n": pl.UInt32(),
    "mean": pl.Float64(),
    "median": pl.Float64(),
    "std": pl.Float64(),
    "t_stat": pl.Float64(),
    "hit_rate": pl.Float64(),
    "min": pl.Float64(),
    "max": pl.Float64(),
}


def reaction_stats(values: pl.DataFrame) -> pl.DataFrame:
    """Per `group` of `values` (columns group, value; any order): n, mean, median, sample std
    (ddof 1), t-stat of the mean (mean / (std / √n); null when std is null or 0), hit rate
    (share > 0), min and max, sorted by group."""
    v = pl.col("value")
    std = v.std(ddof=1)
    # every group's values together and ascending: mean and std then come out the same to the
    # last bit whatever order the database returned the rows in (it differs by back-end and
    # query plan). Sorted by value alone, a group's rows stay scattered and polars sums them in
    # ways that varied with the frame's layout and threads.
    stats = (
        values.sort("group", "value")
        .group_by("group")
        .agg(
            pl.len().alias("n"),
            v.mean().alias("mean"),
            v.median().alias("median"),
            std.alias("std"),
            pl.when(std > 0)
            .then(v.mean() / (std / pl.len().cast(pl.Float64).sqrt()))
            .alias("t_stat"),
            (v > 0).mean().alias("hit_rate"),
            v.min().alias("min"),
            v.max().alias("max"),
        )
    )
    return stats.sort("group").cast(STATS_SCHEMA)  # type: ignore[arg-type]


def resample_bars(bars: pl.DataFrame, interval: ResampleInterval) -> pl.DataFrame:
    """OHLCV bars (columns ts, open, high, low, close, volume; sorted by ts) in buckets of
    `interval`, each labelled by its start; empty buckets are left out."""
    volume = pl.col("volume")
    return (
        bars.sort("ts")
        .group_by_dynamic("ts", every=interval, closed="left", label="left")
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.when(volume.is_not_null().any()).then(volume.sum()).alias("volume"),
        )
    )
