"""The columnar dedupe window says what `RecentSet` says of the same identities added one by
one, whatever the poll sizes, the window's capacity, or hashes shared by different rows."""

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
        keys, tags = [k for k, _ in poll], [t for _, t in poll]
        frame = pl.DataFrame(keys, schema=IDENTITY_SCHEMA, orient="row")
        got = ours.add_frame(frame, pl.Series(tags, dtype=pl.Int64)).to_list()
        assert got == theirs.add_all(keys, tags)
        assert len(ours) == len(theirs)
        for tag in range(3):
            assert ours.tagged(tag) == theirs.tagged(tag)


def test_a_checkpoints_keys_added_back_are_remembered() -> None:
    seen = RecentRows(3)
    tick = ("KOSPI", 1, 2.0, None, None, None, None, None, None)
    bar = ("KOSPI", 1, None, 1.0, 2.0, 0.5, 1.5, "1m", 10.0)
    assert seen.add_all([tick, bar], [0, 1]) == [True, True]
    assert not seen.add(tick, 1)  # a duplicate whatever its partition
    assert seen.tagged(0) == [tick]
    assert seen.tagged(1) == [bar]
    assert seen.add(("KOSPI", 2, 2.0, None, None, None, None, None, None))
    assert seen.add(("KOSPI", 3, 2.0, None, None, None, None, None, None))  # `tick` forgotten
    assert seen.add(tick)
