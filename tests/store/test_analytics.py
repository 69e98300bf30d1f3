"""Statistics are a function of each group's values alone: the order the database returns rows in
(which differs by back-end and query plan) never changes a bit of the result."""

from __future__ import annotations

import random

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from services.store.analytics import reaction_stats
from services.store.columns import VALUES_SCHEMA

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
rows = st.lists(st.tuples(st.sampled_from(["deal", "impose", "raise"]), values), min_size=1)


def stats_of(rows: list[tuple[str, float]]) -> pl.DataFrame:
    return reaction_stats(pl.DataFrame(rows, schema=VALUES_SCHEMA, orient="row"))


@given(rows, st.randoms(use_true_random=False))
def test_stats_do_not_depend_on_row_order(
    rows: list[tuple[str, float]], rng: random.Random
) -> None:
    shuffled = rows.copy()
    rng.shuffle(shuffled)
    assert stats_of(rows).equals(stats_of(shuffled))


def test_nor_on_row_order_at_the_size_of_a_real_query() -> None:
    """Large enough for polars to aggregate on several threads."""
    rng = random.Random(7)
    rows = [(rng.choice(["KR", "JP", "CN", "DE"]), rng.gauss(0, 1)) for _ in range(75_000)]
    first = stats_of(rows)
    for _ in range(10):
        rng.shuffle(rows)
        assert stats_of(rows).equals(first)
