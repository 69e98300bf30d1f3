"""The compiled writer (services/engine/native) writes each row as orjson writes the same
values, for every kind of column, and refuses what it cannot write with a clear error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine import compiled
from services.engine.encoded import EncodedRevisions

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST_US = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_LAST_US = (datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC) - _EPOCH) // timedelta(
    microseconds=1
)


@dataclass(frozen=True)
class Cached:
    json: Any


def write_objects(fields: list[tuple[Any, ...]], rows: int) -> list[bytes]:
    """Each row's JSON, read back from the writer's one buffer and its rows' ends."""
    written, ends = compiled.write_objects(fields, rows)
    data = np.frombuffer(memoryview(written), dtype=np.uint8)
    assert data.tobytes().count(b"\n") == max(rows - 1, 0)  # between two rows, none inside
    return list(EncodedRevisions(data, ends))


def dumped(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_UTC_Z)


def as_time(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@given(st.lists(st.floats(), min_size=1, max_size=40))
def test_floats_as_orjson_writes_them(values: list[float]) -> None:
    written = write_objects([("float", "x", np.asarray(values, dtype=np.float64))], len(values))
    # orjson writes NaN and the infinities as null, as the contract wants them
    assert written == [dumped({"x": v}) for v in values]


@given(
    st.lists(
        st.one_of(
            st.integers(_FIRST_US, _LAST_US),
            st.integers(0, 4_000_000_000).map(lambda s: s * 1_000_000),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_times_as_orjson_writes_them(values: list[int]) -> None:
    written = write_objects([("time", "at", np.asarray(values, dtype=np.int64))], len(values))
    assert written == [dumped({"at": as_time(us)}) for us in values]


def test_every_kind_of_column_in_one_row_each() -> None:
    names = ["KOSPI", 'Q"\\é', "005380.KS"]
    escaped = [orjson.dumps(t).decode()[1:-1] for t in names]
    first, second = Cached(b'["a","b"]'), Cached(b"[]")
    objects = [first, first, second]
    codes = np.asarray([0, 1, 2], dtype=np.int64)
    revision = np.asarray([1, 20, 2**62], dtype=np.int64)
    fields: list[tuple[Any, ...]] = [
        ("joined", "id", [("text", codes, escaped), ("literal", "|"), ("int", revision)]),
        ("raw", "cursor", np.zeros(3, dtype=np.int64), ["null"]),
        ("string", "name", codes[::-1].copy(), escaped),
        ("raw", "flag", np.asarray([1, 0, 1], dtype=np.int64), ["false", "true"]),
        ("int", "revision", revision),
        ("float", "price", np.asarray([2500.5, 2500.5, -0.0])),
        ("json", "confounders", objects, "json"),
        ("time", "at", np.asarray([0, 1, 1_751_846_400_000_000], dtype=np.int64)),
    ]
    expected = [
        dumped(
            {
                "id": f"{names[j]}|{revision[j]}",
                "cursor": None,
                "name": names[2 - j],
                "flag": j != 1,
                "revision": int(revision[j]),
                "price": [2500.5, 2500.5, -0.0][j],
                "confounders": orjson.loads(objects[j].json),
                "at": as_time([0, 1, 1_751_846_400_000_000][j]),
            }
        )
        for j in range(3)
    ]
    assert write_objects(fields, 3) == expected


@given(
    st.integers(1, 2_100),
    st.floats(),
    st.integers(_FIRST_US, _LAST_US),
    st.integers(-(2**63), 2**63 - 1),
)
def test_columns_of_one_value_between_varied_ones(
    rows: int, price: float, at_us: int, number: int
) -> None:
    """A column whose rows all hold one value is written once, as a literal, into each row;
    the varied columns around it are still copied, or written, row by row (in two halves from
    1,024 rows on)."""
    varied = np.arange(rows, dtype=np.int64) // 2  # each value twice: copied from the row before
    fields: list[tuple[Any, ...]] = [
        ("int", "n", varied),
        ("float", "price", np.full(rows, price)),
        ("int", "number", np.full(rows, number, dtype=np.int64)),
        ("time", "at", np.full(rows, at_us, dtype=np.int64)),
        ("float", "half", varied / 2),
        ("raw", "flag", np.ones(rows, dtype=np.int64), ["false", "true"]),
    ]
    expected = [
        dumped(
            {
                "n": k // 2,
                "price": price,
                "number": number,
                "at": as_time(at_us),
                "half": k // 2 / 2,
                "flag": True,
            }
        )
        for k in range(rows)
    ]
    assert write_objects(fields, rows) == expected


def test_no_rows_is_no_objects() -> None:
    assert write_objects([("int", "n", np.empty(0, dtype=np.int64))], 0) == []


@pytest.mark.parametrize(
    ("field", "error", "message"),
    [
        (("int", "n", np.zeros(2, dtype=np.int64)), ValueError, "2 values for 3 rows"),
        (("raw", "n", np.full(3, 5, dtype=np.int64), ["a"]), IndexError, "no text has code 5"),
        (("raw", "n", np.asarray([0, -1, 0]), ["a"]), IndexError, "no text has code -1"),
        (("decimal", "n", np.zeros(3)), ValueError, 'no column of kind "decimal"'),
        (("int", 'n"', np.zeros(3, dtype=np.int64)), ValueError, "not a lower-case name"),
        (("time", "at", np.full(3, _LAST_US + 1)), ValueError, "outside years 1 to 9999"),
        (("json", "c", [Cached("[]")] * 3, "json"), TypeError, "cannot be cast as .bytes."),
        (("json", "c", [Cached(b"[]")] * 2, "json"), ValueError, "2 values for 3 rows"),
    ],
)
def test_refuses_what_it_cannot_write(
    field: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        write_objects([field], 3)


def test_a_column_of_another_type_is_refused() -> None:
    with pytest.raises(TypeError):
        write_objects([("int", "n", np.zeros(3, dtype=np.float64))], 3)


def test_a_buffer_read_stays_and_a_reused_one_holds_only_its_rows() -> None:
    def fields(size: int) -> list[tuple[Any, ...]]:
        return [("int", "n", np.arange(size, dtype=np.int64))]

    def rows(size: int) -> list[bytes]:
        return [b'{"n":%d}' % i for i in range(size)]

    written, ends = compiled.write_objects(fields(5_000), 5_000)
    kept = EncodedRevisions(np.frombuffer(memoryview(written), dtype=np.uint8), ends)
    del written
    for size in (4_000, 3, 1):  # each buffer goes back to the pool, and the next takes it
        assert write_objects(fields(size), size) == rows(size)
    assert list(kept) == rows(5_000)  # still read: never handed to another batch


@settings(max_examples=40)
@given(st.integers(257, 3_000), st.integers(0, 2**32 - 1))
def test_long_values_placed_after_the_rows_are_where_they_belong(rows: int, seed: int) -> None:
    """Where long JSON values (many confounders) outweigh the rest of a batch, the writer leaves
    them out of its rows and copies them into place afterwards, on two threads; a batch of many
    rows is written in two halves, on two threads. The rows read the same as orjson's, whether
    a value repeats the row before's (copied with it), is short (written in its row) or long,
    and wherever the halves meet."""
    random = np.random.default_rng(seed)
    size = 8 * 2**20 // rows + 3_000  # more than 4 MiB of long values in all: two threads
    texts = [
        Cached(orjson.dumps([f"a{k}-{'x' * int(random.integers(0, 9))}"] * (size // 12 + k)))
        for k in range(5)
    ] + [Cached(b"[]"), Cached(b'["short"]')]
    picks = random.integers(0, len(texts), rows)
    for k in np.flatnonzero(random.random(rows) < 0.3)[1:]:
        picks[k] = picks[k - 1]  # the row before's object: copied with it
    objects = [texts[k] for k in picks]
    numbers = random.integers(0, 3, rows).astype(np.int64)
    fields: list[tuple[Any, ...]] = [
        ("int", "n", numbers),
        ("json", "confounders", objects, "json"),
        ("int", "row", np.arange(rows, dtype=np.int64)),
    ]
    expected = [
        dumped({"n": int(n), "confounders": orjson.loads(o.json), "row": k})
        for k, (n, o) in enumerate(zip(numbers, objects, strict=True))
    ]
    assert write_objects(fields, rows) == expected
