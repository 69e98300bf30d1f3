"""The session closes of a price batch, as the store's write path finds them, equal a plain
reference: every observation inside a session, then the latest per session (the higher close
on a tie), ordered by instrument and session."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine import load_registry
from services.frames import prices_frame
from services.study.closes import CLOSES_SCHEMA, SessionCloses
from tests.engine.helpers import kst
from tests.factories import tick

FINDER = SessionCloses(load_registry())
START = kst(2025, 7, 4, 8)  # a Friday before the open, then the weekend, then two sessions

ticks = st.lists(
    st.tuples(
        st.sampled_from(["KOSPI", "KOSDAQ", "USDKRW"]),
        st.integers(0, 5 * 24 * 60),  # minutes after START
        st.sampled_from([99.0, 100.0, 101.0]),  # few values: ties at one time are common
    ),
    max_size=40,
)


def reference(frame: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for instrument, ts, price in frame.select("instrument", "ts", "price").iter_rows():
        cal = FINDER.calendars[instrument]
        seen_us = int(ts.timestamp() * 1_000_000)
        session = int(cal.sessions_of(pl.Series([seen_us]).to_numpy())[0])
        if session >= 0:
            rows.append((instrument, int(cal.closes_us[session]), price, seen_us))
    closes = pl.DataFrame(rows, schema=CLOSES_SCHEMA, orient="row")
    # per (instrument, session) the latest observation, the higher close on a tie
    return (
        closes.sort("instrument", "session_close_us", "observed_at_us", "close")
        .group_by("instrument", "session_close_us", maintain_order=True)
        .last()
    )


@settings(max_examples=200, deadline=None)
@given(ticks)
def test_the_closes_of_a_batch_are_its_latest_observation_per_session(
    drawn: list[tuple[str, int, float]],
) -> None:
    frame = prices_frame([tick(i, START + timedelta(minutes=m), p) for i, m, p in drawn])
    assert FINDER.of_prices(frame).rows() == reference(frame).rows()
