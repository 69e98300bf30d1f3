"""The price hot path gives exactly the model's verdicts, reasons and values."""

from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from services.events import Price
from services.frames import PRICE_SCHEMA, prices_frame
from services.ingest.decode import Rejection
from services.ingest.fastprice import CHECKS, decode_price_rows, row_of, rows_frame
from tests.ingest.verdicts import EXAMPLES, by_model


def by_fast_path(values: list[bytes | None]) -> list[tuple[str, Any]]:
    return [
        ("rejected", v) if isinstance(v, Rejection) else ("row", v)
        for v in decode_price_rows(values)
    ]


def test_the_contract_examples_get_the_models_verdicts() -> None:
    paths = sorted(EXAMPLES.glob("*/*.json"))
    values: list[bytes | None] = [p.read_bytes() for p in paths]
    verdicts = by_fast_path(values)
    assert verdicts == [by_model(v) for v in values]
    accepted = {
        p.parent.name for p, (kind, _) in zip(paths, verdicts, strict=True) if kind == "row"
    }
    assert [kind for kind, _ in verdicts].count("rejected") == len(list(EXAMPLES.glob("invalid/*")))
    assert accepted == {"valid"}


def test_plain_ticks_pass_every_check_and_others_do_not() -> None:
    tick = {"instrument": "KOSPI", "ts": "2025-07-08T00:00:01.5+09:00", "price": 3100, "volume": 0}
    bar = {**tick, "price": None, "open": 1.0, "high": 2.0, "low": 1.0, "close": 2.0}
    columns = {name: [d.get(name) for d in (tick, bar)] for name in PRICE_SCHEMA}
    assert {name: check(columns) for name, check in CHECKS} == {
        name: [
            True,
            name not in {"no bar field is given", "price is a number in PRICE_MIN..PRICE_MAX"},
        ]
        for name, _ in CHECKS
    }


def test_a_frame_of_rows_is_the_frame_of_their_events() -> None:
    events = [
        Price(instrument="KOSPI", ts="2025-07-08T00:00:01Z", price=1.5, volume=3.0),
        Price(
            instrument="KOSPI",
            ts="2025-07-08T00:00:00+09:00",
            open=1.0,
            high=2.0,
            low=0.5,
            close=1.5,
            interval="1d",
        ),
    ]
    assert_frame_equal(rows_frame([row_of(e) for e in events]), prices_frame(events))
    assert_frame_equal(rows_frame([]), prices_frame([]))


json_ints = st.integers(-(2**63), 2**63 - 1)
any_time = st.datetimes(
    min_value=datetime(2, 1, 1),  # noqa: DTZ001 (bounds are naive; zones come from timezones)
    max_value=datetime(9998, 12, 31),  # noqa: DTZ001
    timezones=st.timezones(),
).map(lambda t: t.isoformat())
"""Not within a day of year 1 or 9999: the model raises OverflowError converting those to UTC."""
times = st.one_of(
    any_time,
    st.sampled_from(
        [
            "2025-07-08T00:00:00Z",
            "2025-07-08t00:00:00z",
            "2025-02-29T00:00:00Z",
            "2025-07-08T24:00:00Z",
            "2025-07-08T23:59:60Z",
            "2025-07-08T00:00:00.1234567Z",
            "2025-07-08T00:00:00",
            "2025-07-08 00:00:00Z",
            "2025-07-08",
            "2025-07-08T00:00:00+24:00",
            "2025-07-08T00:00:00-00:00",
            "２０２５-07-08T00:00:00Z",
        ]
    ),
    st.text(max_size=30),
    json_ints,
)
numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    json_ints,
    st.booleans(),
    st.sampled_from(["3100", 0, 0.0, -0.0, 1e-300]),
)
records = st.fixed_dictionaries(
    {},
    optional={
        "instrument": st.one_of(st.text(max_size=45), json_ints, st.none()),
        "ts": times,
        "price": numbers,
        "open": numbers,
        "high": numbers,
        "low": numbers,
        "close": numbers,
        "interval": st.one_of(st.none(), st.sampled_from(["1m", "5m", "1h", "1d", "2m", 1])),
        "volume": numbers,
        "extra": st.text(max_size=5),
    },
)
values = st.one_of(
    records.map(orjson.dumps),
    st.sampled_from([None, b"", b"not json", b"[1]", b"\xff\xfe", b"null", b'"x"']),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(values, max_size=20))
def test_any_batch_gets_the_models_verdicts_in_order(batch: list[bytes | None]) -> None:
    assert by_fast_path(batch) == [by_model(v) for v in batch]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "instrument": st.sampled_from(["KOSPI", "005380.KS"]),
                "ts": any_time,
                "price": st.floats(min_value=1e-6, max_value=1e9),
            },
            optional={"volume": st.floats(min_value=0, max_value=1e12)},
        ).map(orjson.dumps),
        max_size=20,
    )
)
def test_plain_ticks_take_the_fast_path_with_the_models_values(batch: list[bytes]) -> None:
    assert by_fast_path(list(batch)) == [by_model(v) for v in batch]


def test_plain_ticks_never_reach_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_model(value: bytes | None) -> Price | Rejection:
        raise AssertionError(f"the model was asked about {value!r}")

    monkeypatch.setattr("services.ingest.fastprice.decode_price", no_model)
    ticks = [
        b'{"instrument":"KOSPI","ts":"2025-07-08T00:00:01Z","price":3100}',
        b'{"instrument":"KOSPI","ts":"2025-07-08T09:00:01.25+09:00","price":3100.5,"volume":7}',
    ]
    rows = decode_price_rows(ticks)
    second = 1_751_932_801_000_000  # 2025-07-08T00:00:01Z in µs
    assert [(r[0], r[1], r[2], r[8]) for r in rows if not isinstance(r, Rejection)] == [
        ("KOSPI", second, 3100.0, None),
        ("KOSPI", second + 250_000, 3100.5, 7.0),
    ]
    with pytest.raises(AssertionError, match="the model was asked"):
        decode_price_rows([b'{"instrument":"KOSPI","ts":"2025-07-08T00:00:01Z","price":"1"}'])


@pytest.mark.parametrize(
    "ts",
    [
        "2025-07-07T00:07:48Z",  # no fraction
        "2025-07-07T00:07:48.5Z",  # one digit: half a second
        "2025-07-07T00:07:48.000001Z",  # six digits
        "2025-07-07T23:59:59.999999Z",  # the last microsecond of a day
        "2024-02-29T12:00:00Z",  # a leap day
        "2025-02-29T12:00:00Z",  # not a day
        "2025-07-07T24:00:00Z",  # not an hour
        "2016-12-31T23:59:60Z",  # a leap second: not a time Python holds
        "2025-07-07T09:07:48.25+09:00",  # an offset: the general path
    ],
)
def test_utc_times_read_a_minute_at_a_time_get_the_models_values(ts: str) -> None:
    """A `Z` time is its minute's start (read once) plus its seconds: the model's value, and
    its rejection where the time is not real, whether or not the minute was seen before."""
    value = orjson.dumps({"instrument": "KOSPI", "ts": ts, "price": 101.5})
    first, again = by_fast_path([value]), by_fast_path([value])
    assert first == again == [by_model(value)]
