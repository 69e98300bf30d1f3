"""The stream of the restore and snapshot tests, in batches with explicit times (Seoul, Tuesday 8
July 2025): one announcement at the 09:00 open; KOSPI, USDKRW and Hyundai Motor, benchmarked to
KOSPI. Every kind of revision happens in it (provisional, held, final, corrected)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

from services.engine import ReactionEngine
from services.events import Signal
from tests.engine.helpers import korea_registry, kst, make_engine
from tests.factories import announcement, ticks

HORIZONS = ("5m", "30m", "close", "close+1")
LETTER = announcement("letter", kst(2025, 7, 8, 9, 0), sectors=("autos",))


def day1(h: int, m: int, s: int = 0) -> datetime:
    return kst(2025, 7, 8, h, m, s)


def day2(h: int, m: int, s: int = 0) -> datetime:
    return kst(2025, 7, 9, h, m, s)


def batch(*rows: tuple[str, datetime, float]) -> pl.DataFrame:
    return pl.concat([ticks(inst, [(t, p)]) for inst, t, p in rows])


BATCHES: list[pl.DataFrame] = [
    # the previous session's last prints: every base
    batch(
        ("KOSPI", kst(2025, 7, 7, 15, 29, 50), 100.0),
        ("005380.KS", kst(2025, 7, 7, 15, 29, 50), 50.0),
        ("USDKRW", kst(2025, 7, 8, 8, 59), 1370.0),
    ),
    # exactly at the open: the first revision of every window
    batch(
        ("KOSPI", day1(9, 0), 100.5),
        ("005380.KS", day1(9, 0), 50.2),
        ("USDKRW", day1(9, 0), 1369.0),
    ),
    # 90 s later, a new high: provisional revision 2
    batch(("KOSPI", day1(9, 1, 30), 101.0), ("005380.KS", day1(9, 1, 30), 50.6)),
    # a fall inside the interval after revision 2: held
    batch(("KOSPI", day1(9, 2), 100.2), ("USDKRW", day1(9, 2), 1366.0)),
    # past the 5m end (09:05): final 5m; the held change goes out on the others
    batch(
        ("KOSPI", day1(9, 6), 100.8),
        ("005380.KS", day1(9, 6), 50.1),
        ("USDKRW", day1(9, 6), 1368.0),
    ),
    # late but inside the allowed lateness, a new high inside the 5m window: a correction
    batch(("KOSPI", day1(9, 4, 30), 102.0)),
    # past the 30m end
    batch(
        ("KOSPI", day1(9, 40), 99.5),
        ("005380.KS", day1(9, 40), 49.0),
        ("USDKRW", day1(9, 40), 1372.0),
    ),
    # just before the close
    batch(
        ("KOSPI", day1(15, 29), 99.9),
        ("005380.KS", day1(15, 29), 49.5),
        ("USDKRW", day1(15, 29), 1371.0),
    ),
    # the next open: past the close of the anchor session
    batch(
        ("KOSPI", day2(9, 0), 100.4),
        ("005380.KS", day2(9, 0), 50.3),
        ("USDKRW", day2(9, 0), 1369.5),
    ),
    # the next session's last prints; `finish` then closes close+1
    batch(
        ("KOSPI", day2(15, 29), 100.9),
        ("005380.KS", day2(15, 29), 50.8),
        ("USDKRW", day2(15, 29), 1368.5),
    ),
]


def engine() -> ReactionEngine:
    e, _ = make_engine(korea_registry(), horizons=HORIZONS, revision_interval_s=60.0)
    return e


def run(e: ReactionEngine, batches: Sequence[pl.DataFrame]) -> Sequence[Sequence[Signal]]:
    """Per step (the announcement, each batch, the end of input): what `e` sent."""
    steps = [e.add_announcements([LETTER])]
    steps += [e.add_prices(b) for b in batches]
    steps.append(e.finish())
    return steps


def dump(signals: Sequence[Signal]) -> list[dict[str, Any]]:
    return [s.model_dump() for s in signals]
