"""Snapshots (a checkpoint's engine state): an engine loaded from another's snapshot and fed only
the batches after it continues exactly where that one stopped, revision numbers included; with
the revisions sent after an older snapshot restored too, it sends exactly what was not sent.
Damaged or foreign bytes are refused with SnapshotError and change nothing.

The stream is test_restore's (`tests.engine.restore_stream`)."""

from __future__ import annotations

import pickle
import zlib

import pytest

from services.engine import snapshot
from services.engine.exceptions import SnapshotError
from services.events import Signal
from tests.engine.helpers import latest
from tests.engine.restore_stream import BATCHES, LETTER, dump, engine, run

SYMBOLS = {"KOSPI", "USDKRW", "005380.KS"}
STEPS = len(BATCHES) + 1  # the letter, then each batch


@pytest.mark.parametrize("letter_known", [True, False], ids=["letter-first", "letter-after"])
@pytest.mark.parametrize("split", range(len(BATCHES) + 1))
def test_loaded_engine_continues_from_the_snapshot(split: int, letter_known: bool) -> None:
    uninterrupted = run(engine(), BATCHES)
    a = engine()
    a.add_announcements([LETTER])
    for p in BATCHES[:split]:
        a.add_prices(p)
    blob = snapshot.take(a, SYMBOLS)

    b = engine()
    if letter_known:  # the announcements were read again before the partition was assigned
        b.add_announcements([LETTER])
    assert sorted(snapshot.load(b, blob)) == sorted(SYMBOLS)
    # the letter read (again) after loading opens no second set of windows
    resent = list(b.add_announcements([LETTER]))
    resent += [s for p in BATCHES[split:] for s in b.add_prices(p)]
    resent += b.finish()
    assert dump(resent) == dump([s for step in uninterrupted[split + 1 :] for s in step])
    assert b.stats.windows_opened == (0 if not letter_known else a.stats.windows_opened)


@pytest.mark.parametrize(("saved", "stopped"), [(0, 3), (2, 5), (4, 9), (5, 10), (7, 7)])
def test_an_older_snapshot_and_the_revisions_sent_since_send_nothing_twice(
    saved: int, stopped: int
) -> None:
    uninterrupted = run(engine(), BATCHES)
    a = engine()
    a.add_announcements([LETTER])
    sent: list[Signal] = []
    blob = b""
    for i, p in enumerate(BATCHES[:stopped]):
        if i == saved:
            blob = snapshot.take(a, SYMBOLS)
        sent += a.add_prices(p)
    if saved == stopped:
        blob = snapshot.take(a, SYMBOLS)

    b = engine()
    b.add_announcements([LETTER])
    snapshot.load(b, blob)
    b.restore(list(latest(sent).values()))  # what the store holds: newer than the snapshot
    resent = [s for p in BATCHES[saved:] for s in b.add_prices(p)]
    resent += b.finish()
    assert dump(resent) == dump([s for step in uninterrupted[stopped + 1 :] for s in step])


def test_a_snapshot_holds_only_the_instruments_asked_for() -> None:
    a = engine()
    a.add_announcements([LETTER])
    for p in BATCHES[:4]:
        a.add_prices(p)
    b = engine()
    b.add_announcements([LETTER])
    assert snapshot.load(b, snapshot.take(a, {"USDKRW", "NOT-IN-THE-REGISTRY"})) == ["USDKRW"]
    status = {s.symbol: s for s in b.instrument_status()}
    assert status["USDKRW"].watermark_us == a.watermark("USDKRW")
    assert status["KOSPI"].watermark_us is None


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"not a snapshot",
        zlib.compress(pickle.dumps((snapshot.FORMAT + 1, []))),
        zlib.compress(pickle.dumps((snapshot.FORMAT, ["a string"]))),
        zlib.compress(pickle.dumps({"format": 1})),
    ],
    ids=["empty", "garbage", "newer-format", "wrong-content", "wrong-shape"],
)
def test_bytes_that_are_not_a_snapshot_are_refused_and_change_nothing(blob: bytes) -> None:
    b = engine()
    b.add_announcements([LETTER])
    before = b.instrument_status()
    with pytest.raises(SnapshotError):
        snapshot.load(b, blob)
    assert b.instrument_status() == before


def test_a_truncated_snapshot_is_refused() -> None:
    a = engine()
    a.add_announcements([LETTER])
    a.add_prices(BATCHES[0])
    blob = snapshot.take(a, SYMBOLS)
    with pytest.raises(SnapshotError):
        snapshot.load(engine(), blob[: len(blob) // 2])


@pytest.mark.parametrize("split", [1, 4, 7])
def test_a_state_taken_is_the_snapshot_of_that_moment_whatever_follows(split: int) -> None:
    """A checkpoint takes the engine's state with the engine locked and makes the snapshot
    from it (compaction, pickling) while later batches run: they must not reach it."""
    a = engine()
    a.add_announcements([LETTER])
    for p in BATCHES[:split]:
        a.add_prices(p)
    then = [snapshot.take(a, SYMBOLS), snapshot.take(a, {"KOSPI"})]
    state = snapshot.taken(a, [SYMBOLS, {"KOSPI"}])
    for p in BATCHES[split:]:
        a.add_prices(p)
    a.finish()
    assert snapshot.finished(state) == then
    assert snapshot.take(a, SYMBOLS) != then[0]  # what followed changed the engine
