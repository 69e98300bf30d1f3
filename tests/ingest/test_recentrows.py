"""The columnar dedupe window says what `RecentSet` says of the same identities added one by
one, whatever the poll sizes, the window's capacity, or hashes shared by different rows."""

import time
from collections.abc import Callable
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.dedupe import RecentSet
from services.ingest.recentrows import IDENTITY_SCHEMA, RecentRows

_INSTRUMENTS = st.sampled_from(["KOSPI", "KOSDAQ"])
_VALUE = st.sampled_from([1.0, 2.0, 0.0, -0.0])
_OPTIONAL = st.one_of(st.none(), _VALUE)
identity = st.one_of(
    st.tuples(_INSTRUMENTS, st.integers(0, 4), _VALUE, *[st.none()] * 5, _OPTIONAL),
    st.tuples(_INSTRUMENTS, st.integers(0, 4), st.none(), *[_VALUE] * 4, st.just("1m"), _OPTIONAL),
)
polls = st.lists(st.lists(st.tuples(identity, st.integers(0, 2)), max_size=12), max_size=5)


def _every_hash_alike(rows: pl.DataFrame) -> pl.Series:
    return pl.Series([7] * rows.height, dtype=pl.UInt64)


def _two_hashes(rows: pl.DataFrame) -> pl.Series:
    return rows["ts"].cast(pl.UInt64) % 2


@settings(max_examples=300, deadline=None)
@given(polls, st.integers(1, 8), st.sampled_from([None, _every_hash_alike, _two_hashes]))
def test_polls_are_judged_as_keys_added_one_by_one(
    polls: list[list[tuple[tuple[Any, ...], int]]],
    capacity: int,
    hash_rows: Callable[[pl.DataFrame], pl.Series] | None,
) -> None:
    ours = RecentRows(capacity) if hash_rows is None else RecentRows(capacity, hash_rows=hash_rows)
    theirs = RecentSet(capacity)
    for poll in polls:
        mark = ours.mark()
        assert mark == theirs.mark()
        keys, tags = [k for k, _ in poll], [t for _, t in poll]
        frame = pl.DataFrame(keys, schema=IDENTITY_SCHEMA, orient="row")
        got = ours.add_frame(frame, pl.Series(tags, dtype=pl.Int64)).to_list()
        assert got == theirs.add_all(keys, tags)
        assert len(ours) == len(theirs)
        for tag in range(3):
            assert ours.tagged(tag).rows() == theirs.tagged(tag)
            # what a checkpoint of the poll before keeps: the same keys in both
            assert ours.tagged(tag, before=mark).rows() == theirs.tagged(tag, before=mark)


def test_a_checkpoints_keys_added_back_are_remembered() -> None:
    seen = RecentRows(3)
    tick = ("KOSPI", 1, 2.0, None, None, None, None, None, None)
    bar = ("KOSPI", 1, None, 1.0, 2.0, 0.5, 1.5, "1m", 10.0)
    assert seen.add_all([tick, bar], [0, 1]) == [True, True]
    assert not seen.add(tick, 1)  # a duplicate whatever its partition
    assert seen.tagged(0).rows() == [tick]
    assert seen.tagged(1).rows() == [bar]
    assert seen.add(("KOSPI", 2, 2.0, None, None, None, None, None, None))
    assert seen.add(("KOSPI", 3, 2.0, None, None, None, None, None, None))  # `tick` forgotten
    assert seen.add(tick)


WINDOW = 200_000
POLL = 50_000


def _cpu_seconds_to_add(seen: RecentRows, start: int, count: int) -> float:
    """`count` distinct ticks from `start`, a poll at a time (frames made before timing)."""
    ts = pl.int_range(POLL, eager=True)
    ticks = pl.DataFrame({"instrument": "KOSPI", "ts": ts, "price": 1.0})
    ticks = ticks.select(
        pl.col(n).cast(t) if n in ticks.columns else pl.lit(None, t).alias(n)
        for n, t in IDENTITY_SCHEMA.items()
    )
    polls = [ticks.with_columns(pl.col("ts") + s) for s in range(start, start + count, POLL)]
    tags = pl.Series([0] * POLL, dtype=pl.Int64)
    started = time.process_time()
    for poll in polls:
        assert seen.add_frame(poll, tags).all()
    return time.process_time() - started


def test_two_million_rows_through_a_full_window_take_linear_time() -> None:
    """As `RecentSet`'s test: each window's worth of rows costs at most a few times the rows
    that filled it (process CPU time, so a loaded machine ends the test early, not late)."""
    seen = RecentRows(WINDOW)
    filling = _cpu_seconds_to_add(seen, 0, WINDOW)
    budget = max(filling, 0.01) * 4.0
    for start in range(WINDOW, 2_000_000, WINDOW):
        spent = _cpu_seconds_to_add(seen, start, WINDOW)
        assert spent <= budget, f"rows {start:,}+ took {spent:.2f}s, filling {filling:.2f}s"
    assert len(seen) == WINDOW
    last = ("KOSPI", 2_000_000 - 1, 1.0, None, None, None, None, None, None)
    assert not seen.add(last)
    assert seen.add(("KOSPI", 2_000_000 - WINDOW - 1, 1.0, None, None, None, None, None, None))
