"""Session closes kept for all instruments at once (latest session in arrays, earlier ones in
dicts) record exactly what one dict per instrument would, and baselines follow their changes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine.baselines import Baselines, baseline_from_closes
from services.engine.session_closes import Closes, SessionCloses

N_CODES = 3
# (code, session, obs µs, close): a few of each, so sessions repeat, move back and forward
_ROW = st.tuples(
    st.integers(0, N_CODES - 1),
    st.integers(0, 5),
    st.integers(0, 3),
    st.sampled_from([1.0, 2.0, 3.0]),
)


def record_in_dicts(closes: list[Closes], rows: list[tuple[int, int, int, float]]) -> list[bool]:
    """What each instrument's own dict makes of a batch: the close changes where the row is
    later than the session's (by time, then price)."""
    out = []
    for code, session, obs_us, close in rows:
        cur = closes[code].get(session)
        changed = cur is None or (obs_us, close) > cur
        if changed:
            closes[code][session] = (obs_us, close)
        out.append(changed)
    return out


def batch_of(rows: list[tuple[int, int, int, float]]) -> list[tuple[int, int, int, float]]:
    """One row per (code, session), in (code, session) order, as `batch.session_ends` gives."""
    last: dict[tuple[int, int], tuple[int, int, int, float]] = {}
    for row in rows:
        last[(row[0], row[1])] = row
    return [last[key] for key in sorted(last)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_ROW, max_size=8), max_size=8))
def test_batches_record_what_a_dict_per_instrument_records(
    batches: list[list[tuple[int, int, int, float]]],
) -> None:
    shared = SessionCloses(N_CODES)
    dicts: list[Closes] = [{} for _ in range(N_CODES)]
    for raw in batches:
        rows = batch_of(raw)
        expected = record_in_dicts(dicts, rows)
        columns = [np.asarray(column) for column in zip(*rows, strict=True)] if rows else []
        if rows:
            got = shared.record(*columns)
            assert got.tolist() == expected
        for code in range(N_CODES):
            assert shared.of(code) == dicts[code]
            for session in range(6):
                assert shared.get(code, session) == dicts[code].get(session)


def test_dropping_old_sessions_and_loading_keep_the_latest_in_step() -> None:
    closes = SessionCloses(2)
    closes.load(1, {3: (30, 3.0), 5: (50, 5.0), 4: (40, 4.0)})
    assert closes.latest_session.tolist() == [-1, 5]
    assert closes.get(1, 4) == (40, 4.0)
    closes.drop_before(1, 5)
    assert closes.of(1) == {5: (50, 5.0)}
    closes.drop_before(1, 6)
    assert closes.of(1) == {}
    assert closes.record(np.asarray([1]), np.asarray([2]), np.asarray([1]), np.asarray([9.0]))[0]
    assert closes.of(1) == {2: (1, 9.0)}


def test_a_changed_close_changes_the_baselines_that_include_it() -> None:
    closes = SessionCloses(2)
    baselines = Baselines(closes, sessions=2)
    # closes of sessions 0..3 for instrument 1 (instrument 0 has none)
    prices = [100.0, 101.0, 99.0, 102.0]
    for session, price in enumerate(prices):
        closes.record(*_one(1, session, price))
    codes, sessions = np.asarray([0, 1, 1]), np.asarray([3, 3, 4])
    mean, std = baselines.columns(codes, sessions)
    at_3, at_4 = baseline_from_closes(prices[:3]), baseline_from_closes(prices[1:4])
    assert at_3 is not None
    assert at_4 is not None
    assert np.isnan(mean[0])
    assert np.isnan(std[0])
    assert (mean[1], std[1], mean[2], std[2]) == (
        at_3.mean_pct,
        at_3.std_pct,
        at_4.mean_pct,
        at_4.std_pct,
    )
    # a later observation moves session 3's close: the baseline of session 4 includes it,
    # session 3's does not
    changed = closes.record(*_one(1, 3, 104.0, obs_us=10))
    baselines.changed(np.asarray([1]), np.asarray([3]))
    assert changed.tolist() == [True]
    mean, std = baselines.columns(codes, sessions)
    again = baseline_from_closes([*prices[1:3], 104.0])
    assert again is not None
    assert (mean[1], mean[2], std[2]) == (at_3.mean_pct, again.mean_pct, again.std_pct)
    assert baselines.of(1, 4) == again
    baselines.forget(1)
    assert baselines.of(1, 4) == again  # computed again from the closes, which remain


def _one(code: int, session: int, close: float, obs_us: int = 0) -> tuple[np.ndarray, ...]:
    return (
        np.asarray([code]),
        np.asarray([session]),
        np.asarray([obs_us]),
        np.asarray([close]),
    )
