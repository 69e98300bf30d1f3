"""Event-time plausibility, as a table of explicit times (one comment per edge row)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.frames import to_us
from services.ingest.decode import RejectReason
from services.ingest.fastprice import PriceRow
from services.ingest.plausibility import EventTimeBounds
from tests.factories import announcement, tick

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
DAY_US = 86_400_000_000


def bounds(
    *, watermark: timedelta | None = 30 * DAY, wall: timedelta | None = None
) -> EventTimeBounds:
    return EventTimeBounds(
        max_ahead_of_watermark=watermark, max_ahead_of_wall_clock=wall, wall_clock=lambda: NOW
    )


T0 = datetime(2025, 7, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sequence", "verdicts"),
    [
        # the first tick of an instrument sets its watermark, whatever its time
        ([T0], [None]),
        # exactly on the bound is plausible; a microsecond past it is not
        ([T0, T0 + 30 * DAY], [None, None]),
        ([T0, T0 + 30 * DAY + timedelta(microseconds=1)], [None, RejectReason.IMPLAUSIBLE_TIME]),
        # a rejected tick does not move the watermark: the next normal tick is fine
        ([T0, T0 + 5 * 365 * DAY, T0 + DAY], [None, RejectReason.IMPLAUSIBLE_TIME, None]),
        # late ticks are the engine's business (counted and dropped there), not an error here
        ([T0, T0 - 300 * DAY], [None, None]),
        # the watermark moves with every accepted tick: steps of 20 days are all plausible
        ([T0, T0 + 20 * DAY, T0 + 40 * DAY, T0 + 60 * DAY], [None, None, None, None]),
    ],
)
def test_the_watermark_bound(sequence: list[datetime], verdicts: list[RejectReason | None]) -> None:
    check = bounds()
    got = [check.check_price(tick("KOSPI", ts)) for ts in sequence]
    assert [None if r is None else r.reason for r in got] == verdicts


def test_watermarks_are_per_instrument_and_forgotten_on_reset() -> None:
    check = bounds()
    assert check.check_price(tick("KOSPI", T0)) is None
    # another instrument has no watermark yet
    assert check.check_price(tick("USDKRW", T0 + 400 * DAY)) is None
    assert check.check_price(tick("KOSPI", T0 + 400 * DAY)) is not None
    check.reset()
    assert check.check_price(tick("KOSPI", T0 + 400 * DAY)) is None


@pytest.mark.parametrize(
    ("ts", "plausible"),
    [
        (NOW + DAY, True),  # exactly one day ahead of the wall clock
        (NOW + DAY + timedelta(seconds=1), False),  # just past it
        (datetime(2015, 1, 1, tzinfo=UTC), True),  # history is never too old
    ],
)
def test_the_wall_clock_bound(ts: datetime, plausible: bool) -> None:
    check = bounds(watermark=None, wall=DAY)
    assert (check.check_price(tick("KOSPI", ts)) is None) is plausible
    letter = announcement("a", ts)
    assert (check.check_announcement(letter) is None) is plausible


def test_no_bounds_accept_everything() -> None:
    check = bounds(watermark=None, wall=None)
    assert check.check_price(tick("KOSPI", T0)) is None
    assert check.check_price(tick("KOSPI", T0 + 100 * 365 * DAY)) is None


def test_the_wall_clock_is_read_again_before_an_event_is_rejected() -> None:
    """The clock is read only for an event its previous reading would reject: an event that
    was a day too far ahead is accepted once the wall clock has caught up."""
    now = [NOW]
    check = EventTimeBounds(
        max_ahead_of_watermark=None, max_ahead_of_wall_clock=DAY, wall_clock=lambda: now[0]
    )
    assert check.check_price(tick("KOSPI", NOW)) is None
    assert check.check_price(tick("KOSPI", NOW + 2 * DAY)) is not None
    now[0] = NOW + DAY
    assert check.check_price(tick("KOSPI", NOW + 2 * DAY)) is None


batches = st.lists(
    st.lists(st.tuples(st.sampled_from(["KOSPI", "USDKRW"]), st.integers(-10, 100)), max_size=8),
    min_size=1,
    max_size=4,
)
"""Polls of (instrument, day) rows, some beyond a 30-day bound or the wall clock's day."""


@settings(max_examples=300, deadline=None)
@given(batches, st.booleans())
def test_a_batch_by_columns_gets_the_row_by_row_verdicts(
    polls: list[list[tuple[str, int]]], wall: bool
) -> None:
    """The checks of a batch's columns (a quick look at each instrument's span, the exact one
    when that cannot tell) judge and move the watermarks as the rows one by one do."""
    t0_us = to_us(NOW) - 50 * DAY_US
    by_columns, by_rows = (bounds(wall=DAY if wall else None) for _ in range(2))
    for poll in polls:
        poll_columns = ([i for i, _ in poll], [t0_us + day * DAY_US for _, day in poll])
        instruments = pl.Series(poll_columns[0], dtype=pl.String)
        ts_us = pl.Series(poll_columns[1], dtype=pl.Int64)
        ids = pl.Series(range(len(poll)), dtype=pl.Int64)
        got = by_columns.check_columns(instruments, ts_us, ids)
        rows: list[PriceRow] = [
            (i, ts, 1.0, None, None, None, None, None, None)
            for i, ts in zip(*poll_columns, strict=True)
        ]
        want = {i: r for i, row in enumerate(rows) if (r := by_rows.check_row(row)) is not None}
        assert got == want
        assert by_columns._watermarks == by_rows._watermarks  # later polls are judged alike
