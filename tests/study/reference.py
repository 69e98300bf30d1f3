"""DESIGN §4b written again in plain Python, loop by loop, from the formulas alone: the yardstick
the polars study engine is checked against. Slow on purpose; nothing shared with services/study."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class RefEvent:
    car: float | None = None
    scar: float | None = None
    sigma: float | None = None
    alpha: float | None = None
    beta: float | None = None
    length: int = 0
    ars: dict[int, float] = field(default_factory=dict)
    """τ → AR over both windows (estimation and event)."""


def _mean(xs: list[float]) -> float:
    return math.fsum(xs) / len(xs)


def _sample_sd(xs: list[float]) -> float:
    m = _mean(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def average_ranks(values: list[float]) -> list[float]:
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def reference_event(
    returns: list[float | None],
    market: list[float | None] | None,
    day0: int,
    model: str,
    window: tuple[int, int],
    estimation: tuple[int, int],
    min_estimation: int,
) -> RefEvent:
    def at(series: list[float | None] | None, tau: int) -> float | None:
        if series is None:
            return 0.0
        s = day0 + tau
        return series[s] if 0 <= s < len(series) else None

    est_r: list[float] = []
    est_m: list[float] = []
    est_taus: list[int] = []
    for tau in range(estimation[0], estimation[1] + 1):
        r, m = at(returns, tau), at(market, tau)
        if r is not None and m is not None:
            est_r.append(r)
            est_m.append(m)
            est_taus.append(tau)
    out = RefEvent(length=len(est_r))
    n = len(est_r)
    if n < min_estimation:
        return out
    r_bar, m_bar = _mean(est_r), _mean(est_m)
    sxx = math.fsum((m - m_bar) ** 2 for m in est_m)
    alpha = beta = 0.0
    if model == "market_model":
        if sxx == 0:
            return out
        beta = math.fsum((m - m_bar) * (r - r_bar) for r, m in zip(est_r, est_m, strict=True)) / sxx
        alpha = r_bar - beta * m_bar

    def abnormal(r: float, m: float) -> float:
        if model == "mean":
            return r - r_bar
        if model == "market":
            return r - m
        return r - alpha - beta * m

    def c_factor(m: float) -> float:
        if model == "mean":
            return 1 + 1 / n
        if model == "market":
            return 1.0
        return 1 + 1 / n + (m - m_bar) ** 2 / sxx

    est_ar = [abnormal(r, m) for r, m in zip(est_r, est_m, strict=True)]
    if model == "mean":
        var = math.fsum((r - r_bar) ** 2 for r in est_r) / (n - 1)
    elif model == "market":
        var = _sample_sd(est_ar) ** 2
    else:
        var = math.fsum(e * e for e in est_ar) / (n - 2)
    if var <= 0:
        return out
    sigma = math.sqrt(var)
    ars = dict(zip(est_taus, est_ar, strict=True))
    car = 0.0
    sars: list[float] = []
    for tau in range(window[0], window[1] + 1):
        r, m = at(returns, tau), at(market, tau)
        if r is None or m is None:
            continue
        ar = abnormal(r, m)
        ars[tau] = ar
        car += ar
        sars.append(ar / (sigma * math.sqrt(c_factor(m))))
    known = [
        s
        for s in range(len(returns))
        if returns[s] is not None and at(market, s - day0) is not None
    ]
    if not sars or not known or day0 + window[1] > known[-1]:
        return out  # no return in the window, or the window is not over yet
    out.car = car
    out.scar = math.fsum(sars) / math.sqrt(len(sars))
    out.sigma = sigma
    if model == "market_model":
        out.alpha, out.beta = alpha, beta
    out.ars = ars
    return out


def reference_study(
    returns: list[float | None],
    market: list[float | None] | None,
    days0: list[int],
    model: str,
    window: tuple[int, int] = (0, 5),
    estimation: tuple[int, int] = (-130, -11),
    min_estimation: int = 60,
) -> tuple[list[RefEvent], dict[str, float | None]]:
    d = 2 if model == "market_model" else 1
    t = window[1] - window[0] + 1
    per = [
        reference_event(returns, market, s, model, window, estimation, min_estimation)
        for s in days0
    ]
    done = [e for e in per if e.car is not None]
    stats: dict[str, float | None] = dict.fromkeys(
        ("caar_pct", "t_cs", "z_patell", "t_bmp", "z_sign", "z_rank")
    )
    n = len(done)
    if n < 2:
        return per, stats
    cars = [e.car for e in done if e.car is not None]
    scars = [e.scar for e in done if e.scar is not None]
    caar = _mean(cars)
    stats["caar_pct"] = caar
    sd = _sample_sd(cars)
    stats["t_cs"] = caar / (sd / math.sqrt(n)) if sd > 0 else None
    stats["z_patell"] = math.fsum(scars) / math.sqrt(
        math.fsum((e.length - d) / (e.length - d - 2) for e in done)
    )
    sd_scar = _sample_sd(scars)
    stats["t_bmp"] = _mean(scars) / (sd_scar / math.sqrt(n)) if sd_scar > 0 else None
    positive = total = 0
    for e in done:
        for tau, ar in e.ars.items():
            if tau <= estimation[1]:
                total += 1
                positive += ar > 0
    p = positive / total
    w = sum(1 for c in cars if c > 0)
    stats["z_sign"] = (w - n * p) / math.sqrt(n * p * (1 - p)) if 0 < p < 1 else None
    # ranks: per event over both windows, then the mean U per τ across events
    u_by_tau: dict[int, list[float]] = {}
    for e in done:
        taus = sorted(e.ars)
        ranks = average_ranks([e.ars[x] for x in taus])
        for x, rank in zip(taus, ranks, strict=True):
            u_by_tau.setdefault(x, []).append(rank / (1 + len(taus)))
    u_bar = {x: _mean(us) for x, us in u_by_tau.items()}
    s = math.sqrt(_mean([(u - 0.5) ** 2 for u in u_bar.values()]))
    in_window = [u for x, u in u_bar.items() if window[0] <= x <= window[1]]
    stats["z_rank"] = math.sqrt(t) * (_mean(in_window) - 0.5) / s if in_window and s > 0 else None
    return per, stats
