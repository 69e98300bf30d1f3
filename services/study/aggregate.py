"""Across events (DESIGN §4b): CAAR with its interval and path, and the five test statistics.

Every statistic is None when fewer than two events have a result, or when its denominator is
zero (all CARs equal, every estimation AR of one sign): a number is never invented.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from services.study.params import StudyParams
from services.study.result import PathPoint


def aggregate(events: pl.DataFrame, rows: pl.DataFrame, params: StudyParams) -> dict[str, Any]:
    """`events`: one row per event with a result (car, scar, n_est); `rows`: their (event, τ)
    rows with `est`, `ar`. Returns the aggregate fields of `StudyResult`."""
    n = events.height
    out: dict[str, Any] = dict.fromkeys(
        (
            "caar_pct",
            "caar_lower_pct",
            "caar_upper_pct",
            "t_cs",
            "z_patell",
            "t_bmp",
            "z_sign",
            "z_rank",
        )
    )
    out["path"] = _path(events, rows, params)
    if n < 2:
        return out
    car = events["car"].to_numpy()
    scar = events["scar"].to_numpy()
    caar = float(car.mean())
    se = float(car.std(ddof=1)) / math.sqrt(n)
    out["caar_pct"] = caar
    out["caar_lower_pct"] = caar - params.z_critical * se
    out["caar_upper_pct"] = caar + params.z_critical * se
    out["t_cs"] = _ratio(caar, se)
    lengths = events["n_est"].to_numpy().astype(np.float64)
    d = params.degrees
    out["z_patell"] = _ratio(
        float(scar.sum()), math.sqrt(float(((lengths - d) / (lengths - d - 2)).sum()))
    )
    out["t_bmp"] = _ratio(float(scar.mean()), float(scar.std(ddof=1)) / math.sqrt(n))
    out["z_sign"] = _sign(rows, car)
    out["z_rank"] = _rank(rows, params)
    return out


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 and math.isfinite(den) else None


def _sign(rows: pl.DataFrame, car: np.ndarray[Any, Any]) -> float | None:
    """Generalised sign test: positive CARs against the estimation share of positive ARs."""
    n = len(car)
    est = rows.filter(pl.col("est"))["ar"].to_numpy()
    p = float((est > 0).mean())
    w = float((car > 0).sum())
    return _ratio(w - n * p, math.sqrt(n * p * (1 - p)))


def _rank(rows: pl.DataFrame, params: StudyParams) -> float | None:
    """Corrado's rank test in Cowan's multi-day form."""
    ranked = rows.with_columns(
        u=pl.col("ar").rank("average").over("event") / (pl.len().over("event") + 1)
    )
    by_tau = ranked.group_by("tau", maintain_order=True).agg(
        u=pl.col("u").mean(), est=pl.col("est").first()
    )
    u = by_tau["u"].to_numpy()
    s = math.sqrt(float(((u - 0.5) ** 2).mean()))
    window = by_tau.filter(~pl.col("est"))["u"].to_numpy()
    if len(window) == 0:
        return None
    mean_u = float(window.mean())
    return _ratio(math.sqrt(params.event_length) * (mean_u - 0.5), s)


def _path(events: pl.DataFrame, rows: pl.DataFrame, params: StudyParams) -> list[PathPoint]:
    """CAAR(τ1, τ) for τ = τ1 … τ2 with its interval (a missing AR adds nothing to a CAR)."""
    t1, t2 = params.window
    taus = list(range(t1, t2 + 1))
    n = events.height
    if n == 0:
        return [PathPoint(t, None, None, None) for t in taus]
    index = {e: i for i, e in enumerate(events["event"].to_list())}
    grid = np.zeros((n, len(taus)))
    window = rows.filter(~pl.col("est"))
    ev = np.asarray([index[e] for e in window["event"].to_list()], dtype=np.int64)
    grid[ev, window["tau"].to_numpy() - t1] = window["ar"].to_numpy()
    cum = grid.cumsum(axis=1)
    mean = cum.mean(axis=0)
    points = []
    for j, t in enumerate(taus):
        if n < 2:
            points.append(PathPoint(t, None, None, None))
            continue
        half = params.z_critical * float(cum[:, j].std(ddof=1)) / math.sqrt(n)
        m = float(mean[j])
        points.append(PathPoint(t, m, m - half, m + half))
    return points
