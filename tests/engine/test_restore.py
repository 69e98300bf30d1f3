"""Restore and forget: an engine restored from the revisions another run sent, then fed the
whole input again (as a Kafka replay from the start would), continues exactly where that run
stopped.

One stream, in batches with explicit times (Seoul, Tuesday 8 July 2025; the announcement at the
09:00 open), split after every batch: run A sends revisions up to the split, B is restored from
A's last revision per reaction and replays every batch from the first. B must send exactly what
A sent after the split, revision numbers included, and end with the same final reactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
import pytest

from services.engine import ReactionEngine
from services.events import Signal
from tests.engine.helpers import announcement, korea_registry, kst, latest, make_engine, ticks

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


def run(e: ReactionEngine, batches: Sequence[pl.DataFrame]) -> list[list[Signal]]:
    """Per step (the announcement, each batch, the end of input): what `e` sent."""
    steps = [e.add_announcements([LETTER])]
    steps += [e.add_prices(b) for b in batches]
    steps.append(e.finish())
    return steps


def dump(signals: Sequence[Signal]) -> list[dict[str, Any]]:
    return [s.model_dump() for s in signals]


def test_the_stream_exercises_every_kind_of_revision() -> None:
    sent = [s for step in run(engine(), BATCHES) for s in step]
    assert any(s.revision > 1 and not s.final for s in sent), "no provisional update"
    assert any(s.corrected for s in sent), "no correction"
    # USDKRW is always open: its close+1 window never ends before the input does
    assert sum(not s.final for s in latest(sent).values()) == 1


@pytest.mark.parametrize("restore_first", [True, False], ids=["before-input", "after-letter"])
@pytest.mark.parametrize("split", range(len(BATCHES) + 2))
def test_restored_engine_continues_where_the_run_stopped(split: int, restore_first: bool) -> None:
    # split 0: A sent nothing yet; len(BATCHES) + 1: A finished, everything is final
    uninterrupted = run(engine(), BATCHES)
    before = [s for step in uninterrupted[: split + 1] for s in step]
    after = [s for step in uninterrupted[split + 1 :] for s in step]

    b = engine()
    if restore_first:
        b.restore(list(latest(before).values()))
        resent = b.add_announcements([LETTER])
    else:
        resent = b.add_announcements([LETTER])
        b.restore(list(latest(before).values()))
    resent += [s for p in BATCHES for s in b.add_prices(p)]
    resent += b.finish()

    assert dump(resent) == dump(after)
    assert dump(list(latest(before + resent).values())) == dump(
        list(latest(before + after).values())
    )


def test_a_final_reaction_restored_is_not_sent_again() -> None:
    sent = [s for step in run(engine(), BATCHES) for s in step]
    done = list(latest(sent).values())
    assert sum(s.final for s in done) == len(done) - 1  # USDKRW close+1 is still open
    b = engine()
    b.restore(done)
    assert [s for step in run(b, BATCHES) for s in step] == []


def test_restore_keeps_the_newer_revision() -> None:
    sent = [s for step in run(engine(), BATCHES) for s in step]
    b = engine()
    b.restore(list(latest(sent).values()))
    # an older revision restored afterwards (a stale read) does not roll the reaction back
    b.restore([s for s in sent if s.revision == 1])
    assert [s for step in run(b, BATCHES) for s in step] == []


def test_forget_drops_an_instrument_until_restored_and_replayed() -> None:
    a = engine()
    a.add_announcements([LETTER])
    for p in BATCHES[:5]:
        a.add_prices(p)
    a.forget(["KOSPI"])
    status = {s.symbol: s for s in a.instrument_status()}
    # windows opened again, empty, for the known letter; no price state left
    assert status["KOSPI"].watermark_us is None
    assert status["KOSPI"].open_windows == len(HORIZONS)
    assert status["USDKRW"].watermark_us is not None
    # a stale replica never finalises what it no longer owns
    assert all(s.instrument != "KOSPI" for s in a.finish())


def test_an_instrument_owned_again_continues_after_restore_and_replay() -> None:
    uninterrupted = run(engine(), BATCHES)
    a = engine()
    a.add_announcements([LETTER])
    sent = [s for p in BATCHES[:5] for s in a.add_prices(p)]
    a.forget(["KOSPI"])
    # owned again: restored from what was sent, its ticks replayed from the start
    a.restore([s for s in latest(sent).values() if s.instrument == "KOSPI"])
    kospi = pl.col("instrument") == "KOSPI"
    resent = [s for p in BATCHES[:5] for s in a.add_prices(p.filter(kospi))]
    resent += [s for p in BATCHES[5:] for s in a.add_prices(p)]
    resent += a.finish()
    assert dump(resent) == dump([s for step in uninterrupted[6:] for s in step])
