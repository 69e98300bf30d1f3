"""Continuing from the revisions a previous run sent (a restart, a rebalance).

A restored window takes the emission state of its last sent revision: its number, whether it
was final, and the values the revision policy compares against, with the event time of that
revision (its `last_at`: a provisional revision's last observation is the watermark it was sent
at). Its inputs are then replayed from the start, so for a while its aggregates lag behind what
was sent; the window is *held* (sends nothing but a final it reaches) until it has caught up
with the restored revision on every aggregate. All aggregates only grow towards their final
value (later last and base, higher high, lower low, more confounders), so "not behind on any"
is exactly "has seen at least what the previous run had seen".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from services.engine.emission import fields_of
from services.engine.history import NO_TIME
from services.engine.reaction import pct
from services.engine.windows import WindowTable
from services.events import Signal
from services.frames import to_us

_PCT_TOLERANCE = 1e-9


def apply(table: WindowTable, pos: int, signal: Signal) -> bool:
    """Seed window `pos` with `signal` unless it has sent that revision or a later one."""
    c = table.cols
    if signal.revision <= c["revision"][pos]:
        return False
    c["revision"][pos] = signal.revision
    c["final"][pos] = signal.final
    c["sent_watermark_us"][pos] = to_us(signal.last_at)
    c["sent_return_pct"][pos] = signal.return_pct
    c["sent_rise_pct"][pos] = signal.max_rise_pct
    c["sent_fall_pct"][pos] = signal.max_fall_pct
    c["held"][pos] = True
    c["dirty"][pos] = False
    table.cols["last_sent"][pos] = fields_of(signal)
    return True


def release_caught_up(
    table: WindowTable, positions: Iterable[int], benchmark: WindowTable | None = None
) -> None:
    """Clear `held` on the windows whose aggregates reached their restored revision (and
    whose benchmark window, for an abnormal return against one, is not held itself)."""
    c = table.cols
    for i in positions:
        sent = c["last_sent"][i]
        if sent is not None and not _caught_up(table, i, sent):
            continue
        if benchmark is not None:
            meta = table.meta[i]
            pos = benchmark.index.get((meta.announcement_id, meta.horizon))
            if pos is not None and benchmark.cols["held"][pos]:
                continue
        c["held"][i] = False


def _caught_up(table: WindowTable, i: int, sent: Mapping[str, Any]) -> bool:
    c = table.cols
    if c["n_obs"][i] == 0 or c["base_us"][i] == NO_TIME:
        return False
    if c["last_us"][i] < to_us(sent["last_at"]) or c["base_us"][i] < to_us(sent["base_at"]):
        return False
    base = float(c["base_price"][i])
    rise = pct(float(c["high"][i]), base)
    fall = pct(float(c["low"][i]), base)
    if rise < sent["max_rise_pct"] - _PCT_TOLERANCE or fall > sent["max_fall_pct"] + _PCT_TOLERANCE:
        return False
    return set(sent["confounders"]) <= set(table.confounders(i).ids)


def held_positions(table: WindowTable) -> list[int]:
    out: list[int] = np.flatnonzero(table.cols["held"]).tolist()
    return out
