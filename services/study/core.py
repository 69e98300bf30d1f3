"""The study engine (DESIGN §4b) in polars: abnormal returns per event, then across events.

Input is one instrument's session returns as a dense array over its calendar's sessions (NaN
where a close is missing), the benchmark's on the same sessions for the models that need one,
and the events by their day-0 session. Every event contributes the rows τ ∈ [E1, E2] ∪ [τ1, τ2]
that have a return (a missing session adds nothing to a CAR); an event whose window is not over
by the last known return has no result yet. Everything else is grouped arithmetic on that frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from services.study.aggregate import aggregate
from services.study.exceptions import StudyParamsError
from services.study.params import StudyParams
from services.study.result import EventResult, StudyResult

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class StudyEvent:
    announcement_id: str
    day0: int
    """Index of the anchor session on the instrument's calendar."""
    confounded: bool = False


def run_study(
    events: Sequence[StudyEvent],
    returns_pct: F64,
    sessions: Sequence[date],
    params: StudyParams,
    *,
    market_pct: F64 | None = None,
    instrument: str = "",
) -> StudyResult:
    """The study of `events` on one instrument; `sessions[i]` is the date of session i."""
    if params.needs_benchmark and market_pct is None:
        raise StudyParamsError(f"model {params.model!r} needs a benchmark for {instrument!r}")
    kept = [e for e in events if not (params.exclude_confounded and e.confounded)]
    excluded = len(events) - len(kept)
    rows = _long_frame(kept, returns_pct, market_pct, params)
    # an event window not over by the last return known is not a result yet (left out)
    last = _last_known(returns_pct if market_pct is None else returns_pct + market_pct)
    unfinished = [i for i, e in enumerate(kept) if e.day0 + params.window[1] > last]
    if unfinished:
        rows = rows.filter(pl.col("est") | ~pl.col("event").is_in(unfinished))
    rows, per_event = _abnormal(rows, params)
    included = per_event.filter(pl.col("ok"))
    used = rows.join(included.select("event"), on="event", maintain_order="left")
    stats = aggregate(included, used, params)
    return StudyResult.of(
        instrument,
        params,
        n=included.height,
        n_left_out=len(kept) - included.height,
        n_excluded_confounded=excluded,
        events=_event_results(kept, per_event, sessions, params),
        **stats,
    )


def _event_results(
    events: Sequence[StudyEvent],
    per_event: pl.DataFrame,
    sessions: Sequence[date],
    params: StudyParams,
) -> list[EventResult]:
    """One result per event, in the order given; None where it has no result."""
    ok = per_event["ok"].to_numpy()
    sigma = np.sqrt(np.where(ok, per_event["sigma2"].fill_null(np.nan).to_numpy(), np.nan))
    columns = {
        "car": per_event["car"].to_numpy(),
        "scar": per_event["scar"].to_numpy(),
        "alpha": per_event["alpha"].to_numpy(),
        "beta": per_event["beta"].to_numpy(),
    }
    mm = params.model == "market_model"
    fields = {k: _nullable(np.where(ok, v, np.nan)) for k, v in columns.items()}
    sigma_pct = _nullable(sigma)
    n_est = per_event["n_est"].fill_null(0).to_list()
    position = {e: i for i, e in enumerate(per_event["event"].to_list())}
    none: list[float | None] = [None] * len(events)
    alpha, beta = (fields["alpha"], fields["beta"]) if mm else (none, none)
    out = []
    for i, e in enumerate(events):
        j = position.get(i)
        out.append(
            EventResult(
                announcement_id=e.announcement_id,
                anchor_session=sessions[e.day0] if 0 <= e.day0 < len(sessions) else date.min,
                car_pct=None if j is None else fields["car"][j],
                scar=None if j is None else fields["scar"][j],
                sigma_pct=None if j is None else sigma_pct[j],
                alpha=None if j is None else alpha[j],
                beta=None if j is None else beta[j],
                n_estimation=0 if j is None else int(n_est[j]),
                confounded=e.confounded,
            )
        )
    return out


def _long_frame(
    events: Sequence[StudyEvent], returns_pct: F64, market_pct: F64 | None, params: StudyParams
) -> pl.DataFrame:
    """One row per (event, τ) of the two windows with a return (and a benchmark return)."""
    (e1, e2), (t1, t2) = params.estimation, params.window
    taus = np.concatenate([np.arange(e1, e2 + 1), np.arange(t1, t2 + 1)]).astype(np.int64)
    day0 = np.asarray([e.day0 for e in events], dtype=np.int64)
    idx = (day0[:, None] + taus[None, :]).ravel()
    inside = (idx >= 0) & (idx < len(returns_pct))
    safe = np.where(inside, idx, 0)
    r = np.where(inside, returns_pct[safe], np.nan)
    rm = np.zeros_like(r) if market_pct is None else np.where(inside, market_pct[safe], np.nan)
    present = ~(np.isnan(r) | np.isnan(rm))
    event = np.repeat(np.arange(len(events), dtype=np.int64), len(taus))
    return pl.DataFrame(
        {
            "event": event[present],
            "tau": np.tile(taus, len(events))[present],
            "r": r[present],
            "rm": rm[present],
        }
    ).with_columns(est=pl.col("tau") <= e2)


def _abnormal(rows: pl.DataFrame, params: StudyParams) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows with their abnormal return `ar` and standardised `sar`, and per event: n_est,
    alpha, beta, sigma2, car, scar and whether it has a result (`ok`)."""
    r, rm = pl.col("r"), pl.col("rm")
    est = (
        rows.filter(pl.col("est"))
        .group_by("event", maintain_order=True)
        .agg(
            n_est=pl.len(),
            rbar=r.mean(),
            mbar=rm.mean(),
            sxx=((rm - rm.mean()) ** 2).sum(),
            sxy=((rm - rm.mean()) * (r - r.mean())).sum(),
        )
        .with_columns(beta=pl.col("sxy") / pl.col("sxx"))
        .with_columns(alpha=pl.col("rbar") - pl.col("beta") * pl.col("mbar"))
    )
    n = pl.col("n_est").cast(pl.Float64)
    if params.model == "mean":
        ar, c = r - pl.col("rbar"), 1.0 + 1.0 / n
    elif params.model == "market":
        ar, c = r - rm, pl.lit(1.0)
    else:
        ar = r - pl.col("alpha") - pl.col("beta") * rm
        c = 1.0 + 1.0 / n + (rm - pl.col("mbar")) ** 2 / pl.col("sxx")
    d = params.degrees
    full = rows.join(est, on="event", how="left", maintain_order="left").with_columns(ar=ar, c=c)
    sigma = (
        full.filter(pl.col("est"))
        .group_by("event", maintain_order=True)
        .agg(sigma2=((pl.col("ar") - pl.col("ar").mean()) ** 2).sum() / (n.first() - d))
    )
    full = full.join(sigma, on="event", how="left", maintain_order="left").with_columns(
        sar=pl.col("ar") / (pl.col("sigma2") * pl.col("c")).sqrt()
    )
    window = (
        full.filter(~pl.col("est"))
        .group_by("event", maintain_order=True)
        .agg(car=pl.col("ar").sum(), scar=pl.col("sar").sum() / pl.len().cast(pl.Float64).sqrt())
    )
    ok = (
        (pl.col("n_est") >= params.min_estimation)
        & (pl.col("sigma2") > 0)
        & pl.col("car").is_not_null()
    )
    if params.model == "market_model":
        ok &= pl.col("sxx") > 0
    rows_out = full.select("event", "tau", "est", "ar", "sar", "rm")
    per_event = (
        est.join(sigma, on="event", how="left")
        .join(window, on="event", how="full", coalesce=True)
        .sort("event")
        .with_columns(ok=ok.fill_null(False))
    )
    return rows_out, per_event


def _last_known(values: F64) -> int:
    """Index of the last non-NaN value, −1 when there is none."""
    known = np.flatnonzero(~np.isnan(values))
    return int(known[-1]) if len(known) else -1


def _nullable(values: F64) -> list[float | None]:
    """Floats, with None for NaN (and for ±inf, which no result may carry)."""
    finite = np.isfinite(values)
    return [float(v) if f else None for v, f in zip(values.tolist(), finite.tolist(), strict=True)]
