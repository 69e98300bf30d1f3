"""A batch of ticks becomes the 1-minute bars the store's merge would keep had the ticks come
one by one, in the batch's order: ties in time included."""

from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from services.frames import PRICE_SCHEMA
from services.store.writes import bar_frames

_MINUTE_US = 60_000_000
_T0 = 1_751_932_800_000_000  # 2025-07-08T00:00:00Z


def merged_one_by_one(ticks: list[tuple[str, int, float]]) -> dict[tuple[str, int], Any]:
    """The store's merge rule (writes._bars_merge) applied to each tick's own bar in turn."""
    bars: dict[tuple[str, int], dict[str, Any]] = {}
    for instrument, ts, price in ticks:
        key = (instrument, ts // _MINUTE_US * _MINUTE_US)
        old = bars.get(key)
        if old is None:
            bars[key] = {"open": price, "high": price, "low": price, "close": price,
                         "first_at_us": ts, "last_at_us": ts}  # fmt: skip
            continue
        if ts < old["first_at_us"]:
            old["open"], old["first_at_us"] = price, ts
        if ts > old["last_at_us"]:
            old["close"], old["last_at_us"] = price, ts
        old["high"], old["low"] = max(old["high"], price), min(old["low"], price)
    return bars


def tick_frame(ticks: list[tuple[str, int, float]]) -> pl.DataFrame:
    columns: dict[str, list[Any]] = {name: [] for name in PRICE_SCHEMA}
    for instrument, ts, price in ticks:
        for name, value in zip(PRICE_SCHEMA, (instrument, ts, price), strict=False):
            columns[name].append(value)
        for name in list(PRICE_SCHEMA)[3:]:
            columns[name].append(None)
    frame = pl.DataFrame(columns, schema=PRICE_SCHEMA | {"ts": pl.Int64})
    return frame.with_columns(pl.col("ts").cast(PRICE_SCHEMA["ts"]))


ticks = st.lists(
    st.tuples(
        st.sampled_from(["KOSPI", "KOSDAQ"]),
        # few distinct times over three minutes: many ties, some on a minute's edge
        st.sampled_from([0, 1, 59_999_999, 60_000_000, 90_000_000, 150_000_000]).map(
            lambda us: _T0 + us
        ),
        st.sampled_from([1.0, 2.0, 3.0, 2.5]),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(ticks)
def test_a_batch_of_ticks_makes_the_bars_its_ticks_one_by_one_would(
    batch: list[tuple[str, int, float]],
) -> None:
    minute, daily, skipped = bar_frames(tick_frame(batch))
    assert (daily.height, skipped) == (0, 0)
    assert minute["volume"].null_count() == minute.height
    got = {
        (row.pop("instrument"), row.pop("ts_us")): row for row in minute.drop("volume").to_dicts()
    }
    assert got == merged_one_by_one(batch)
