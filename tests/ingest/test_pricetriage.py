"""The columnar price path gives exactly the model's verdicts, reasons and values, and sorts a
poll as the event-by-event triage does (plausibility, then the dedupe window, in order)."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from services.events import Price
from services.frames import PRICE_SCHEMA, from_us
from services.ingest.decode import decode_price
from services.ingest.dedupe import RecentSet
from services.ingest.fastprice import row_of
from services.ingest.plausibility import EventTimeBounds
from services.ingest.pricetriage import decode_price_frame, triage_prices
from services.ingest.recentrows import IDENTITY_SCHEMA, RecentRows
from services.ingest.tickcolumns import (
    _CAPTURED,
    _TIME,
    COMMON_TICK,
    SMALL_POLL,
    common_ticks,
    ticks_by_column,
    ticks_by_record,
)
from services.ingest.triage import each, triage
from tests.ingest.verdicts import EXAMPLES, by_model


def by_columns(values: list[bytes | None]) -> list[tuple[str, Any]]:
    frame, rejected = decode_price_frame(values)
    rows = dict(zip(frame["at"].to_list(), frame.select(list(IDENTITY_SCHEMA)).rows(), strict=True))
    assert frame["at"].is_sorted()
    assert set(rows).isdisjoint(rejected)
    return [
        ("rejected", rejected[i]) if i in rejected else ("row", rows[i]) for i in range(len(values))
    ]


def test_the_contract_examples_get_the_models_verdicts() -> None:
    values: list[bytes | None] = [p.read_bytes() for p in sorted(EXAMPLES.glob("*/*.json"))]
    assert by_columns(values) == [by_model(v) for v in values]


def test_a_large_poll_of_the_contract_examples_gets_the_models_verdicts() -> None:
    """Past `SMALL_POLL` values a poll is read by polars' columns, not record by record."""
    examples: list[bytes | None] = [p.read_bytes() for p in sorted(EXAMPLES.glob("*/*.json"))]
    values = examples * (SMALL_POLL // len(examples) + 1)
    assert len(values) > SMALL_POLL
    assert by_columns(values) == [by_model(v) for v in values]


ws = st.sampled_from(["", " ", "\n\t ", "\r"])
digits = st.text("0123456789", min_size=1, max_size=20)
number_text = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: orjson.dumps(f).decode()),
    st.integers(-(10**17), 10**17).map(str),
    st.builds(lambda i, f: f"{i}.{f}", st.integers(0, 10**13), digits),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(0, 10**6), st.integers(-20, 20)),
    st.sampled_from(["1e-6", "0.000001", "1e12", "1000000000000", "1000000000000.0001", "-0.0"]),
    st.sampled_from(["01", "1.", ".5", "+1", "1e", "NaN", "Infinity", '"1"', "true", "null"]),
    st.sampled_from(["1e999", "1e99", "123456789012345e300", "1.5e-400", "1e-99", "1e+12"]),
)
time_text = st.one_of(
    st.datetimes(
        min_value=from_us(0).replace(tzinfo=None) - timedelta(days=400),
        max_value=from_us(7_300_000_000_000_000).replace(tzinfo=None),
    ).map(lambda t: t.isoformat(timespec="microseconds") + "Z"),
    st.builds(
        lambda y, mo, d, h, mi, s, f: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{f}Z",
        st.integers(1969, 2200),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
        st.sampled_from(["", ".5", ".123456", ".1234567", ".", "z"]),
    ),
    st.sampled_from(["2025-07-08T00:00:00+00:00", "2025-07-08t00:00:00Z", "2024-02-29T00:00:00Z"]),
)
instrument_text = st.one_of(
    st.sampled_from(["KOSPI", "005380.KS", "é", "a" * 40, "a" * 41, "", "a\\u0000", 'a\\"b']),
    st.text(max_size=42).map(lambda t: orjson.dumps(t).decode()[1:-1]),
)


@st.composite
def common_form_ish(draw: st.DrawFn) -> bytes:
    """Text in or near the common tick form: the columns' path must tell the two apart."""
    w = draw(ws)
    members = [
        f'"instrument"{w}:{w}"{draw(instrument_text)}"',
        f'"ts"{w}:{w}"{draw(time_text)}"',
        f'"price"{w}:{w}{draw(number_text)}',
    ]
    if draw(st.booleans()):
        members.append(f'"volume"{w}:{w}{draw(number_text)}')
    if draw(st.integers(0, 9)) == 0:
        members.append(draw(st.sampled_from(['"price":1', '"open":1', '"x":[]', "]"])))
    return (w + "{" + w + f"{w},{w}".join(members) + w + "}" + w).encode()


values = st.one_of(
    common_form_ish(),
    st.sampled_from([None, b"", b"not json", b"[1]", b"\xff\xfe", b'{"instrument":"\xff"}']),
    st.fixed_dictionaries(
        {"instrument": st.just("KOSPI"), "ts": time_text},
        optional={"price": st.floats(), "open": st.floats(), "interval": st.just("1m")},
    ).map(orjson.dumps),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(values, max_size=12))
def test_any_batch_gets_the_models_verdicts_in_order(batch: list[bytes | None]) -> None:
    assert by_columns(batch) == [by_model(v) for v in batch]


@settings(max_examples=500, deadline=None)
@given(st.lists(values, max_size=12))
def test_a_poll_read_record_by_record_is_read_as_by_columns(batch: list[bytes | None]) -> None:
    """Small polls are read by Python's `re`, large ones by polars: the same rows (`repr`
    tells -0.0 from 0.0) in the same schema."""
    by_record, by_column = ticks_by_record(batch), ticks_by_column(batch)
    assert by_record.schema == by_column.schema
    assert repr(by_record.rows()) == repr(by_column.rows())


def test_both_readings_read_the_integer_minus_zero_as_the_model_does() -> None:
    """orjson reads `-0` as the integer 0 (a float 0.0 in the model), `-0.0` as -0.0."""
    values: list[bytes | None] = [
        b'{"instrument":"KOSPI","ts":"2025-07-08T00:00:01Z","price":3,"volume":-0}',
        b'{"instrument":"KOSPI","ts":"2025-07-08T00:00:01Z","price":3,"volume":-0.0}',
    ]
    assert [repr(row[-1]) for _, row in map(by_model, values)] == ["0.0", "-0.0"]
    for read in (ticks_by_record, ticks_by_column):
        assert [repr(v) for v in read(values)["volume"].to_list()] == ["0.0", "-0.0"]


@settings(max_examples=300, deadline=None)
@given(st.lists(common_form_ish(), min_size=1, max_size=12))
def test_the_captured_members_tell_the_common_form_as_its_pattern_does(batch: list[bytes]) -> None:
    """The time is captured loosely and checked apart: the same values are in the form."""
    text = pl.Series(batch, dtype=pl.Binary).cast(pl.String, strict=False)
    captured = text.str.extract_groups(_CAPTURED).struct.field("ts").str.contains(_TIME)
    assert captured.fill_null(False).to_list() == text.str.contains(COMMON_TICK).to_list()


def test_ticks_in_the_common_form_are_read_as_columns() -> None:
    ticks: list[bytes | None] = [
        b'{"instrument":"KOSPI","ts":"2025-07-08T00:00:01Z","price":3100}',
        b'{ "instrument": "KOSPI", "ts": "2025-07-08T00:00:01.25Z", "price": 3.1e3, "volume": 7 }',
        b'{"instrument":"KOSPI","ts":"2025-07-08T09:00:01+09:00","price":3100}',  # an offset
    ]
    second = 1_751_932_801_000_000  # 2025-07-08T00:00:01Z in µs
    assert common_ticks(ticks).rows() == [
        (0, "KOSPI", second, 3100.0, None),
        (1, "KOSPI", second + 250_000, 3100.0, 7.0),
    ]


@dataclass(frozen=True)
class Record:
    value: bytes | None
    offset: int
    partition: int = 0
    topic: str = "market.prices"
    key: bytes | None = b"KOSPI"
    timestamp: int = 0


def bounds() -> EventTimeBounds:
    now = from_us(1_751_932_800_000_000)  # 2025-07-08
    return EventTimeBounds(
        max_ahead_of_watermark=timedelta(hours=1),
        max_ahead_of_wall_clock=timedelta(days=1),
        wall_clock=lambda: now,
    )


tick_records = st.lists(
    st.one_of(
        st.builds(
            lambda i, s, p: orjson.dumps(
                {"instrument": i, "ts": from_us(1_751_932_800_000_000 + s * 60_000_000), "price": p}
            ),
            st.sampled_from(["KOSPI", "KOSDAQ"]),
            st.integers(-5, 3000),  # minutes: some beyond the watermark's hour or the day
            st.sampled_from([1.0, 2.0]),
        ),
        values,
    ),
    max_size=15,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(tick_records, min_size=1, max_size=4), st.integers(1, 20))
def test_polls_are_sorted_as_event_by_event(polls: list[list[bytes | None]], window: int) -> None:
    """Duplicates within a poll and across polls, implausible times, bad records: the same
    batches, dead letters (reasons in order) and counts as the event-by-event triage."""
    seen, expected_seen, ours, theirs = RecentRows(window), RecentSet(window), bounds(), bounds()
    offset = 0
    for poll in polls:
        records = [Record(v, offset + i, partition=i % 2, timestamp=i) for i, v in enumerate(poll)]
        offset += len(poll)
        got = triage_prices(records, seen, ours)
        want = triage(records, each(decode_price), row_of, expected_seen, theirs.check_price)
        expected = pl.DataFrame(
            [row_of(p) for p in want.valid], schema=PRICE_SCHEMA | {"ts": pl.Int64}, orient="row"
        ).with_columns(pl.col("ts").cast(PRICE_SCHEMA["ts"]))
        assert got.batch.prices.equals(expected)
        assert [(d.offset, d.rejection) for d in got.dead] == [
            (d.offset, d.rejection) for d in want.dead
        ]
        assert (got.duplicates, got.consumed) == (want.duplicates, want.consumed)
        assert seen.tagged(0).rows() == expected_seen.tagged(0)
        assert seen.tagged(1).rows() == expected_seen.tagged(1)


def test_a_time_beyond_the_watermark_is_dead_lettered_and_the_rest_of_the_poll_kept() -> None:
    def tick(minute: int) -> bytes:
        return orjson.dumps(
            {
                "instrument": "KOSPI",
                "ts": from_us(1_751_932_800_000_000 + minute * 60_000_000),
                "price": 1.0,
            }
        )

    records = [Record(tick(m), i) for i, m in enumerate([0, 1, 200, 2, 2])]
    result = triage_prices(records, RecentRows(10), bounds())
    assert [d.offset for d in result.dead] == [2]
    assert result.dead[0].rejection.reason == "implausible_time"
    assert result.batch.prices.height == 3
    assert result.duplicates == 1


def test_the_identity_of_a_tick_read_as_columns_is_its_events() -> None:
    price = Price(instrument="KOSPI", ts="2025-07-08T00:00:01Z", price=2.0, volume=3.0)
    frame, _ = decode_price_frame([orjson.dumps(price.model_dump(mode="json", exclude_none=True))])
    assert frame.height == 1
    assert frame.select(list(IDENTITY_SCHEMA)).rows() == [row_of(price)]
