"""Restore and forget: an engine restored from the revisions another run sent, then fed the
whole input again (as a Kafka replay from the start would), continues exactly where that run
stopped.

One stream (`tests.engine.restore_stream`), split after every batch: run A sends revisions up to
the split, B is restored from A's last revision per reaction and replays every batch from the
first. B must send exactly what A sent after the split, revision numbers included, and end with
the same final reactions.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.engine.helpers import latest
from tests.engine.restore_stream import BATCHES, HORIZONS, LETTER, dump, engine, run


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
        resent = list(b.add_announcements([LETTER]))
    else:
        resent = list(b.add_announcements([LETTER]))
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
