"""A deliberately simple reference of DESIGN §4 for ticks: plain loops over the definition.

Given every (deduplicated) tick of one instrument and every announcement, it returns the final
reactions that the data reaches. It shares only the calendar with the engine.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from services.engine import EngineConfig, SessionCalendar
from services.events import Announcement
from services.frames import to_us


def reference_finals(
    announcements: Sequence[Announcement],
    ticks: Sequence[tuple[int, float]],
    calendar: SessionCalendar,
    config: EngineConfig,
) -> dict[tuple[str, str], dict[str, object]]:
    """(announcement id, horizon) → the final reaction's fields (times in µs)."""
    obs = sorted(set(ticks))
    if not obs:
        return {}
    watermark = obs[-1][0]
    closed, next_open = calendar.closed_after(watermark, int(config.close_tolerance_s * 1e6))
    anchors = {}
    for ann in announcements:
        anchors[ann.id] = calendar.anchor(
            to_us(ann.published_at), day_precision=ann.published_at_precision == "day"
        )
    out: dict[tuple[str, str], dict[str, object]] = {}
    for ann in announcements:
        anchor, session, at_open = anchors[ann.id]
        for h in config.parsed_horizons:
            if h.duration_s is not None:
                end = calendar.add_trading_us(anchor, h.duration_s * 1_000_000)
            else:
                end = calendar.session_close_us(session + (h.sessions_after or 0))
            if not (watermark >= end or (closed and end <= next_open)):
                continue
            cut = anchor - 1 if at_open else anchor
            base = None
            for t, p in obs:
                if t <= cut:
                    base = (t, p)
            window = [(t, p) for t, p in obs if cut < t <= end]
            if base is None or not window:
                continue
            base_t, base_p = base
            hi_t, hi = window[0]
            lo_t, lo = window[0]
            for t, p in window:
                if p > hi:
                    hi_t, hi = t, p
                if p < lo:
                    lo_t, lo = t, p
            last_t, last_p = window[-1]
            ret = (last_p / base_p - 1) * 100
            rise = (hi / base_p - 1) * 100
            fall = (lo / base_p - 1) * 100
            peak = hi_t if abs(rise) >= abs(fall) else lo_t
            mean = std = z = abnormal = None
            significant = None
            closes = []
            for s in range(session - config.baseline_sessions - 1, session):
                in_session = [
                    p
                    for t, p in obs
                    if s >= 0 and calendar.session_open_us(s) <= t <= calendar.session_close_us(s)
                ]
                if in_session:
                    closes.append(in_session[-1])
            if len(closes) == config.baseline_sessions + 1:
                rets = [(closes[i] / closes[i - 1] - 1) * 100 for i in range(1, len(closes))]
                mean, std = statistics.mean(rets), statistics.stdev(rets)
                k = calendar.session_fractions(anchor, end)
                expected = k * mean
                abnormal = ret - expected
                if std > 0:
                    z = (ret - expected) / (math.sqrt(k) * std)
                    significant = abs(z) >= config.significance_z
            direction = "flat"
            if ret >= config.flat_threshold_pct:
                direction = "up"
            elif ret <= -config.flat_threshold_pct:
                direction = "down"
            confounders = sorted(
                other
                for other, (a, _, _) in anchors.items()
                if other != ann.id and anchor <= a <= end
            )
            out[(ann.id, h.name)] = {
                "anchor_at": anchor,
                "base_price": base_p,
                "base_at": base_t,
                "last_price": last_p,
                "last_at": last_t,
                "return_pct": ret,
                "max_rise_pct": rise,
                "max_fall_pct": fall,
                "peak_at": peak,
                "time_to_peak_s": (peak - anchor) / 1e6,
                "gap_pct": (window[0][1] / base_p - 1) * 100 if at_open else None,
                "baseline_mean_pct": mean,
                "baseline_std_pct": std,
                "z_score": z,
                "abnormal_return_pct": abnormal,
                "significant": significant,
                "direction": direction,
                "confounders": confounders,
                "data_granularity": "tick",
            }
    return out
