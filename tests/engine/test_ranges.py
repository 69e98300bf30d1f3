"""The largest value of many slices at once (ranges.py) is `np.argmax` of each slice, ties and
lengths of every power of two included; the fold reads long slices from it as it scans them."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine.ranges import first_argmax
from services.engine.rows import Rows
from tests.engine.numpy_rules.fold import _slice_extremes


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=70),
    st.lists(st.tuples(st.integers(0, 69), st.integers(0, 69)), min_size=1, max_size=20),
)
def test_each_slice_gets_the_first_position_of_its_largest_value(
    values: list[int], ends: list[tuple[int, int]]
) -> None:
    n = len(values)
    start = np.asarray([min(a, b) % n for a, b in ends], dtype=np.int64)
    stop = np.asarray([max(max(a, b) % n, min(a, b) % n) + 1 for a, b in ends], dtype=np.int64)
    array = np.asarray(values, dtype=np.float64)
    expected = [a + int(np.argmax(array[a:b])) for a, b in zip(start, stop, strict=True)]
    assert first_argmax(array, start, stop).tolist() == expected


def test_no_slice_no_position() -> None:
    none = np.empty(0, dtype=np.int64)
    assert first_argmax(np.arange(3.0), none, none).tolist() == []


def test_long_slices_read_from_the_table_equal_each_slice_scanned() -> None:
    rng = np.random.default_rng(3)
    n = 3_000
    close = rng.integers(90, 110, n).astype(np.float64)  # many ties
    rows = Rows(
        np.arange(n, dtype=np.int64),
        close,
        close + rng.integers(0, 3, n),
        close - rng.integers(0, 3, n),
        close,
        rng.choice([0, 60_000_000], n).astype(np.int64),
    )
    start = rng.integers(0, n - 200, 400)
    stop = start + rng.integers(130, 200, 400)
    expected = (
        [a + int(np.argmax(rows.high[a:b])) for a, b in zip(start, stop, strict=True)],
        [a + int(np.argmin(rows.low[a:b])) for a, b in zip(start, stop, strict=True)],
        [int(rows.interval_us[a:b].max()) for a, b in zip(start, stop, strict=True)],
    )
    # many slices: read from the table; a few: scanned one at a time
    for k in (400, 2):
        got = _slice_extremes(start[:k], stop[:k], rows)
        assert [g.tolist() for g in got] == [e[:k] for e in expected]
