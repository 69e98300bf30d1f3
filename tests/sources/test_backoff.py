"""The back-off's waits, row by row."""

from __future__ import annotations

import pytest

from services.sources.backoff import Backoff


@pytest.mark.parametrize(
    ("failures", "delay_s"),
    [
        (0, 0.0),  # no failure: only the interval
        (1, 2.0),  # the first failure waits the base
        (2, 4.0),
        (5, 32.0),
        (6, 60.0),  # just past the cap
        (10_000, 60.0),  # a long outage never overflows
    ],
)
def test_delay(failures: int, delay_s: float) -> None:
    assert Backoff(base_s=2, cap_s=60).delay_s(failures) == delay_s
