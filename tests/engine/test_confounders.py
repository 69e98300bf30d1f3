"""A window's confounders: the other ids anchored inside it, sorted; shared between instruments
given the same anchors, never between instruments that differ; unchanged by a snapshot."""

from __future__ import annotations

import pickle

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.engine import compiled
from services.engine.confounders import Anchors, forget_shared


def anchors(pairs: list[tuple[int, str]]) -> Anchors:
    out = Anchors()
    for anchor_us, announcement_id in pairs:
        out.add(anchor_us, announcement_id)
    return out


PAIRS = [(50, "b"), (10, "z"), (30, "a"), (30, "é"), (90, "m")]


def test_inside_is_the_sorted_ids_anchored_in_the_window_but_its_own() -> None:
    a = anchors(PAIRS)
    assert a.inside(10, 50, "z") == ("a", "b", "é")
    assert a.inside(30, 30, "a") == ("é",)
    assert a.inside(51, 89, "b") == ()
    assert a.inside(0, 100, "nobody") == ("a", "b", "m", "z", "é")
    found = a.confounders(10, 90, "m", changes=3)
    assert (found.changes, found.ids) == (3, ("a", "b", "z", "é"))
    assert found.json == orjson.dumps(list(found.ids))


def test_instruments_with_the_same_anchors_share_results_others_do_not() -> None:
    first, second = anchors(PAIRS), anchors(PAIRS)
    assert first.confounders(0, 100, "a", 1).ids is second.confounders(0, 100, "a", 2).ids
    # the same ids at another time, and one more id, are other sets
    moved = anchors([*PAIRS[:-1], (95, "m")])
    assert moved.inside(0, 92, "a") == ("b", "z", "é")
    assert first.inside(0, 92, "a") == ("b", "m", "z", "é")
    second.add(60, "c")
    assert second.inside(0, 100, "a") == ("b", "c", "m", "z", "é")
    assert first.inside(0, 100, "a") == ("b", "m", "z", "é")


def test_forgotten_results_are_computed_again_and_still_right() -> None:
    first = anchors(PAIRS)
    shared = first.confounders(0, 100, "a", 1).ids
    forget_shared()  # as a benchmark does between rounds
    again = first.confounders(0, 100, "a", 1).ids
    assert again == shared
    assert again is not shared  # computed again, not found
    later = anchors(PAIRS)  # the states made after forgetting share among themselves
    assert later.confounders(0, 100, "a", 1).ids is anchors(PAIRS).confounders(0, 100, "a", 1).ids
    later.add(60, "c")
    assert later.inside(0, 100, "a") == ("b", "c", "m", "z", "é")
    assert first.inside(0, 100, "a") == ("b", "m", "z", "é")


def test_a_snapshot_keeps_the_anchors_and_shares_nothing_it_cannot_know() -> None:
    original = anchors(PAIRS)
    restored = pickle.loads(pickle.dumps(original))
    assert "é" in restored
    assert len(restored) == len(PAIRS)
    assert restored.inside(0, 100, "b") == original.inside(0, 100, "b")
    restored.add(70, "n")
    assert restored.inside(0, 100, "b") == ("a", "m", "n", "z", "é")
    assert original.inside(0, 100, "b") == ("a", "m", "z", "é")


def test_a_snapshot_of_the_time_ordered_form_reads_back_in_id_order() -> None:
    old = Anchors.__new__(Anchors)
    old.__setstate__(
        {"_times_us": [10, 30, 50], "_ids": ["z", "a", "b"], "_known": {"z", "a", "b"}}
    )
    assert old.inside(0, 60, "b") == ("a", "z")
    old.add(40, "c")
    assert old.inside(0, 60, "b") == ("a", "c", "z")


@given(
    st.dictionaries(st.text(min_size=1, max_size=6), st.integers(0, 20), min_size=0, max_size=30),
    st.lists(st.tuples(st.integers(-1, 21), st.integers(-1, 21), st.text(max_size=6)), max_size=20),
)
def test_many_windows_at_once_are_each_window_alone(
    anchored: dict[str, int], windows: list[tuple[int, int, str]]
) -> None:
    """The compiled pass writes each window's JSON as orjson writes its sorted ids (escapes,
    non-ASCII, empty windows, an own id present or not); the ids read back are those ids."""
    forget_shared()
    a = anchors([(t, i) for i, t in anchored.items()])
    found = a.shared_many(windows)
    for (start, end, own), cache in zip(windows, found, strict=True):
        expected = tuple(sorted(i for i, t in anchored.items() if start <= t <= end and i != own))
        assert cache.json == orjson.dumps(expected)
        assert cache.ids == expected


def test_the_compiled_pass_refuses_ids_and_windows_that_do_not_match() -> None:
    one = np.asarray([1], dtype=np.int64)
    with pytest.raises(ValueError, match="do not match"):
        compiled.confounders_json(one, b'"a"', np.asarray([9], dtype=np.int64), one, one, one)
    with pytest.raises(ValueError, match="do not match"):
        compiled.confounders_json(one, b'"a"', np.asarray([3], dtype=np.int64), one, one, one[:0])
