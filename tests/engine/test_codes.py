"""Ordering by instrument code is stable whatever the codes' width (radix sort under 2**16)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from services.engine.codes import by_code


@given(st.lists(st.integers(0, 5), max_size=60), st.sampled_from([0, 65_530, 1 << 20]))
def test_the_order_by_code_keeps_equal_codes_in_their_order(codes: list[int], offset: int) -> None:
    array = np.asarray(codes, dtype=np.int64) + offset
    order = by_code(array)
    assert order.tolist() == sorted(range(len(codes)), key=lambda i: (codes[i], i))
