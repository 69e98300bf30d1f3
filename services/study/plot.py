"""The picture of a study: the CAAR path with its 95% band, and each event's CAR."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt

from services.study.result import StudyResult


def plot_study(result: StudyResult, path: Path) -> None:
    """Write a PNG: left the CAAR path τ1…τ2 with its band, right the per-event CARs."""
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]}, layout="constrained"
    )
    points = [pt for pt in result.path if pt.caar_pct is not None]
    taus = [pt.tau for pt in points]
    left.axhline(0.0, color="0.6", linewidth=0.8)
    if points:
        left.fill_between(
            taus,
            [pt.lower_pct or 0.0 for pt in points],
            [pt.upper_pct or 0.0 for pt in points],
            color="tab:blue",
            alpha=0.18,
            label="95% interval",
        )
        left.plot(taus, [pt.caar_pct for pt in points], marker="o", color="tab:blue", label="CAAR")
        left.legend(loc="upper left", frameon=False)
    left.set_xlabel("sessions after the announcement (τ)")
    left.set_ylabel("cumulative average abnormal return (%)")
    stats = [f"N = {result.n}"]
    for name, value in (("t_cs", result.t_cs), ("z_patell", result.z_patell)):
        if value is not None:
            stats.append(f"{name} = {value:.2f}")
    title = f"{result.instrument}: CAAR[{result.window[0]}, τ], {result.model} model"
    left.set_title(
        f"{title} ({', '.join(stats)})",
        fontsize=10,
    )
    done = [e for e in result.events if e.car_pct is not None]
    cars = [e.car_pct or 0.0 for e in done]
    right.axhline(0.0, color="0.6", linewidth=0.8)
    right.bar(
        range(len(done)),
        cars,
        color=["tab:green" if c > 0 else "tab:red" for c in cars],
    )
    for i, e in enumerate(done):
        if e.confounded:
            right.annotate("c", (i, cars[i]), ha="center", va="bottom", fontsize=7)
    right.set_xticks(range(len(done)), [e.anchor_session.isoformat() for e in done], rotation=90)
    right.tick_params(axis="x", labelsize=6 if len(done) > 20 else 8)
    right.set_ylabel(f"CAR[{result.window[0]}, {result.window[1]}] (%)")
    right.set_title("each announcement (c: confounded)", fontsize=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)
