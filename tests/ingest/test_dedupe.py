"""The dedupe window: what it remembers, and that its cost per record does not grow with fill."""

import time

from services.ingest.dedupe import RecentSet

WINDOW = 200_000
RECORDS = 2_000_000
SLOWDOWN_ALLOWED = 4.0
"""A chunk of records may cost at most this many times the chunk that filled the window: the
quadratic eviction this guards against made the second chunk alone ~50 times slower."""


def test_recent_set_keeps_the_most_recent_capacity_keys() -> None:
    seen = RecentSet(3)
    assert [seen.add(k) for k in "abcd"] == [True] * 4  # "a" forgotten
    assert len(seen) == 3
    assert [seen.add(k) for k in "bcd"] == [False] * 3
    assert seen.add("a")  # new again; "b" forgotten
    assert seen.add("b")
    assert not seen.add("d")


def _cpu_seconds_to_add(seen: RecentSet, keys: range) -> float:
    started = time.process_time()
    for key in keys:
        seen.add(key)
    return time.process_time() - started


def test_two_million_records_through_a_full_window_take_linear_time() -> None:
    """Measured in this process's CPU time, chunk by chunk, so a loaded machine and a slow
    regression both end the test early rather than late."""
    seen = RecentSet(WINDOW)
    filling = _cpu_seconds_to_add(seen, range(WINDOW))
    assert len(seen) == WINDOW
    budget = max(filling, 0.01) * SLOWDOWN_ALLOWED
    for start in range(WINDOW, RECORDS, WINDOW):
        spent = _cpu_seconds_to_add(seen, range(start, start + WINDOW))
        assert spent <= budget, f"records {start:,}+ took {spent:.2f}s, filling {filling:.2f}s"
    assert len(seen) == WINDOW
    assert not seen.add(RECORDS - 1)
    assert seen.add(RECORDS - WINDOW - 1)  # forgotten: the window moved past it


def test_a_checkpoint_saves_the_keys_of_its_partition_oldest_first() -> None:
    seen = RecentSet(4)
    for key, partition in [("a", 0), ("b", 1), ("c", 0), ("d", 1), ("e", 0)]:  # "a" forgotten
        seen.add(key, partition)
    assert seen.tagged(0) == ["c", "e"]
    assert seen.tagged(1) == ["b", "d"]
    assert not seen.add("b", 0)  # a duplicate whatever its partition (an unkeyed producer's)
    assert seen.tagged(2) == []


def test_a_checkpoint_before_a_mark_leaves_out_the_keys_added_since() -> None:
    seen = RecentSet(4)
    seen.add_all(["a", "b", "c"], [0, 1, 0])
    mark = seen.mark()
    assert mark == 3
    seen.add_all(["c", "d", "e"], [0, 0, 1])  # "c" is a duplicate: not counted; "a" forgotten
    assert seen.mark() == 5
    assert seen.tagged(0, before=mark) == ["c"]
    assert seen.tagged(1, before=mark) == ["b"]
    assert seen.tagged(0) == ["c", "d"]
    assert seen.tagged(0, before=seen.mark()) == ["c", "d"]
