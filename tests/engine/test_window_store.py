"""The cross-instrument pieces of the engine: one batch's rows of many instruments give each
instrument exactly what its own rows alone would (lateness, de-duplication, window aggregates),
and a table snapshotted in the previous format loads with its live windows."""

from __future__ import annotations

import pickle

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine.batch import BatchRows, accept
from services.engine.history import NO_TIME
from services.engine.rows import Rows
from services.engine.windows import STATIC, WindowMeta, WindowStore, WindowTable
from tests.engine.numpy_rules.fold import fold_rows

_N_CODES = 3
_STATIC_VALUES = {"duration_us": 0, "at_open": False, "session": 0, "sessions_k": 1.0}


def _rows(obs_us: list[int], closes: list[float]) -> Rows:
    close = np.asarray(closes, dtype=np.float64)
    return Rows(
        np.asarray(obs_us, dtype=np.int64),
        close,
        close + 0.5,
        close - 0.5,
        close,
        np.zeros(len(obs_us), dtype=np.int64),
    )


def _static(cut_us: int, end_us: int, count: int = 1) -> dict[str, list[object]]:
    values = {**_STATIC_VALUES, "anchor_us": cut_us, "base_cut_us": cut_us, "end_us": end_us}
    return {name: [values[name]] * count for name in STATIC}


rows_of_codes = st.lists(
    st.tuples(
        st.integers(0, _N_CODES - 1),
        st.integers(0, 40),
        st.sampled_from([1.0, 2.0, 3.0]),
    ),
    min_size=1,
    max_size=40,
)
windows = st.lists(st.tuples(st.integers(-5, 45), st.integers(0, 50)), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(rows_of_codes, windows, st.integers(0, 10))
def test_one_pass_over_instruments_equals_each_alone(
    rows: list[tuple[int, int, float]], spans: list[tuple[int, int]], lateness_us: int
) -> None:
    # arrival order per instrument; codes sorted as `price_batch` leaves them
    rows = sorted(rows, key=lambda r: r[0])
    codes = np.asarray([r[0] for r in rows], dtype=np.int64)
    batch = BatchRows(codes, _rows([r[1] for r in rows], [r[2] for r in rows]))
    watermarks = np.asarray([NO_TIME, 20, 5], dtype=np.int64)
    accepted, late, _ = accept(batch, watermarks, lateness_us)

    together = WindowStore()
    alone = {code: WindowTable() for code in range(_N_CODES)}
    for code in range(_N_CODES):
        table = together.table(code)
        for k, (cut, end) in enumerate(spans):
            table.add([WindowMeta(f"a{k}", "h")], _static(cut, end))
            alone[code].add([WindowMeta(f"a{k}", "h")], _static(cut, end))
    fold_rows(together.cols, np.flatnonzero(together.cols["alive"]), accepted.rows, accepted.codes)

    for code in range(_N_CODES):
        mine = codes == code
        own = batch.rows.take(np.flatnonzero(mine))
        # one instrument alone: the watermark each row saw, then sorted and de-duplicated
        seen = np.maximum.accumulate(np.concatenate(([watermarks[code]], own.obs_us)))[:-1]
        keep = own.obs_us >= seen - lateness_us
        assert late[code] == int((~keep).sum())
        kept = own.take(keep).sorted_unique()
        fold_rows(alone[code].cols, alone[code].positions(), kept)
        got = together.tables[code].positions()
        expected = alone[code].positions()
        for name in ("base_us", "base_price", "n_obs", "first_us", "last_us", "high", "low"):
            np.testing.assert_array_equal(
                together.cols[name][got], alone[code].cols[name][expected], err_msg=name
            )


def test_a_table_pickled_by_the_previous_format_loads_its_live_windows() -> None:
    table = WindowTable()
    table.add([WindowMeta("a", "1h"), WindowMeta("b", "1h")], _static(0, 10, 2))
    store = table.store
    # format 2 pickled the table's own dict: every row of its columns, dead ones included
    columns = {n: c.copy() for n, c in store.cols.items() if n != "inst"}
    columns["alive"][0] = False
    old = WindowTable.__new__(WindowTable)
    old.__setstate__(
        {"_storage": columns, "cols": columns, "meta": list(store.meta), "index": {}, "_dead": 1}
        | {"anchors": table.anchors}
    )
    assert list(old.index) == [("b", "1h")]
    again = pickle.loads(pickle.dumps(old))
    assert list(again.index) == [("b", "1h")]
    assert int(again.cols["end_us"][again.index[("b", "1h")]]) == 10


def test_a_window_gains_a_confounder_from_each_later_anchor_of_its_instrument_inside_it() -> None:
    store = WindowStore()
    spans = [(0, 10, 20), (0, 10, 20), (0, 10, 20), (1, 10, 20), (1, 20, 30)]
    for k, (code, start_us, end_us) in enumerate(spans):
        store.add(code, [WindowMeta(f"w{k}", "h")], _static(start_us, end_us))
    # (code, anchor, order): 15 and 20 (the end) fall inside windows of their instrument;
    # 30 on instrument 0 and 5 on instrument 1 fall inside none
    anchors = [(1, 5, 0), (0, 15, 1), (1, 20, 1), (0, 30, 2)]
    codes, times, order = np.asarray(anchors, dtype=np.int64).T
    # windows 0 and 3 were open before these announcements, 1 and 2 opened by the first two
    opened = np.asarray([-1, 0, 1, -1, 1], dtype=np.int64)
    store.add_anchors(codes, times, order, np.arange(5), opened)
    # window 2's own announcement (order 1) is no confounder of it; window 4's anchor of order
    # 1, inside it, is not after its own
    assert store.cols["confounder_changes"].tolist() == [1, 1, 0, 1, 0]
    assert store.cols["dirty"].tolist() == [True, True, False, True, False]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 30), st.integers(0, 20)), max_size=8),
    st.lists(st.tuples(st.integers(0, 2), st.sampled_from([5, 12, 25])), min_size=1, max_size=6),
    st.data(),
)
def test_the_windows_that_gain_a_confounder_are_those_the_definition_names(
    spans: list[tuple[int, int, int]], anchors: list[tuple[int, int]], data: st.DataObject
) -> None:
    # (code, start, length) windows; (code, time) anchors in order, one time or several
    store = WindowStore()
    for k, (code, start_us, length) in enumerate(spans):
        store.add(code, [WindowMeta(f"w{k}", "h")], _static(start_us, start_us + length))
    opened = [data.draw(st.integers(-1, len(anchors) - 1)) for _ in spans]
    store.add_anchors(
        np.asarray([code for code, _ in anchors], dtype=np.int64),
        np.asarray([t for _, t in anchors], dtype=np.int64),
        np.arange(len(anchors), dtype=np.int64),
        np.arange(len(spans)),
        np.asarray(opened, dtype=np.int64),
    )
    expected = [
        any(
            a_code == code and start <= t <= start + length and k > after
            for k, (a_code, t) in enumerate(anchors)
        )
        for (code, start, length), after in zip(spans, opened, strict=True)
    ]
    assert store.cols["confounder_changes"].tolist() == [int(e) for e in expected]
    assert store.cols["dirty"].tolist() == expected
