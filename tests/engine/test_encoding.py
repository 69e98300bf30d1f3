"""Revisions encoded over columns are the contract JSON of their Signals, byte for byte: over
generated revisions (null and non-finite numbers, extreme floats, times to the microsecond over
the calendar's whole range, unicode and escaped ids) and the contract's signal examples."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine.confounders import ConfounderCache
from services.engine.emission import Revisions, rows
from services.engine.encoding import FLOAT_FIELDS, TIMES, RevisionColumns, encoded
from services.engine.names import Coded
from services.engine.reaction import LABELS
from services.events import Signal, signal_value
from services.frames import to_us

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples" / "signal" / "valid"
_CODES = {label: code for code, label in enumerate(LABELS.tolist())}
_FIRST_US = to_us(datetime(1, 1, 1, tzinfo=UTC))
_LAST_US = to_us(datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))

ids = st.text(min_size=1, max_size=12)
times_us = st.one_of(
    st.integers(_FIRST_US, _LAST_US),
    st.integers(0, 4_000_000_000).map(lambda s: s * 1_000_000),  # whole seconds
)
floats = st.floats(allow_nan=True, allow_infinity=True)


@st.composite
def revision_columns(draw: st.DrawFn) -> RevisionColumns:
    n = draw(st.integers(1, 6))

    def column(values: st.SearchStrategy[Any], dtype: type) -> npt.NDArray[Any]:
        return np.asarray(draw(st.lists(values, min_size=n, max_size=n)), dtype=dtype)

    numbers = {name: column(times_us, np.int64) for name in TIMES}
    numbers |= {name: column(floats, np.float64) for name in FLOAT_FIELDS}
    numbers["significant"] = column(st.sampled_from([1.0, 0.0, np.nan]), np.float64)
    numbers["direction"] = column(st.sampled_from([0, 1, 2]), np.int64)
    numbers["data_granularity"] = column(st.sampled_from([3, 4, 5]), np.int64)
    confounders = draw(st.lists(st.lists(ids, unique=True, max_size=4), min_size=n, max_size=n))
    return RevisionColumns(
        Coded.of(draw(st.lists(ids, min_size=n, max_size=n))),
        Coded.of(draw(st.lists(ids, min_size=n, max_size=n))),
        Coded.of(draw(st.lists(ids, min_size=n, max_size=n))),
        column(st.integers(1, 2**62), np.int64),
        column(st.booleans(), np.bool_),
        column(st.booleans(), np.bool_),
        numbers,
        [ConfounderCache(0, tuple(sorted(c))) for c in confounders],
        draw(st.datetimes(timezones=st.just(UTC))),
    )


def revisions_of(parts: list[RevisionColumns], between: list[dict[str, object]]) -> Revisions:
    """Column parts, with a part of rows between the first and the others."""
    out = Revisions(columns=parts[0])
    out.extend(Revisions(between))
    for part in parts[1:]:
        out.extend(Revisions(columns=part))
    return out


def assert_contract_bytes(revisions: Revisions) -> None:
    expected = [signal_value(s) for s in revisions]
    written = revisions.encoded()
    assert list(written) == expected
    assert [written.view(i).tobytes() for i in range(len(written))] == expected
    assert revisions.ndjson() == b"\n".join(expected)
    for data, signal in zip(written, revisions, strict=True):
        # pydantic's own JSON of the model reads back as the same document
        assert orjson.loads(data) == orjson.loads(signal.model_dump_json())


def assert_columns_write_contract_bytes(parts: list[RevisionColumns]) -> None:
    """The columnar writer itself (`Revisions` sends rows through orjson)."""
    expected = [signal_value(s) for part in parts for s in Revisions(columns=part)]
    assert list(encoded(parts)) == expected
    assert encoded(parts).ndjson() == b"\n".join(expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(revision_columns(), min_size=1, max_size=3))
def test_generated_revisions_encode_to_their_signal_json(parts: list[RevisionColumns]) -> None:
    between = rows(parts[0].take(np.asarray([0])))
    assert_contract_bytes(revisions_of(parts, between))
    assert_columns_write_contract_bytes(parts)


@settings(max_examples=100, deadline=None)
@given(revision_columns(), st.lists(st.integers(0, 5), min_size=1, max_size=12))
def test_runs_of_revisions_with_the_same_window_values(
    part: RevisionColumns, picks: list[int]
) -> None:
    """Adjacent revisions that agree on the values an announcement's horizons share (written
    once for the run) and differ, or not, in the others."""
    rows_ = np.asarray([k % len(part) for k in picks])
    repeated = part.take(rows_)
    varied = RevisionColumns(
        repeated.instruments,
        repeated.announcement_ids,
        Coded.of(f"h{k}" for k in range(len(repeated))),
        repeated.revision + np.arange(len(repeated)),
        repeated.final,
        ~repeated.corrected,
        repeated.numbers | {"z_score": np.arange(len(repeated), dtype=np.float64)},
        repeated.confounders,
        repeated.emitted_at,
    )
    assert_columns_write_contract_bytes([repeated, varied])


@settings(max_examples=20, deadline=None)
@given(revision_columns(), st.integers(100, 400))
def test_long_confounders_are_joined_to_the_text_around_them(
    part: RevisionColumns, n_ids: int
) -> None:
    """Confounders' JSON longer than the writer copies through polars."""
    many = ConfounderCache(0, tuple(f"announcement-{k:05d}" for k in range(n_ids)))
    assert len(many.json) > 1024
    long = RevisionColumns(
        part.instruments,
        part.announcement_ids,
        part.horizons,
        part.revision,
        part.final,
        part.corrected,
        part.numbers,
        [many] * len(part),
        part.emitted_at,
    )
    assert_columns_write_contract_bytes([long])


def columns_of(signals: list[Signal]) -> RevisionColumns:
    """Signals as the engine's columns (cursor aside: the engine's revisions are not stored
    yet)."""

    def values(name: str) -> list[Any]:
        return [getattr(s, name) for s in signals]

    numbers = {name: np.asarray([to_us(t) for t in values(name)]) for name in TIMES}
    numbers |= {
        name: np.asarray([np.nan if v is None else v for v in values(name)], dtype=np.float64)
        for name in FLOAT_FIELDS
    }
    numbers["significant"] = np.asarray(
        [np.nan if v is None else float(v) for v in values("significant")]
    )
    for name in ("direction", "data_granularity"):
        numbers[name] = np.asarray([_CODES[v] for v in values(name)])
    return RevisionColumns(
        Coded.of(s.instrument for s in signals),
        Coded.of(s.announcement_id for s in signals),
        Coded.of(s.horizon for s in signals),
        np.asarray(values("revision"), dtype=np.int64),
        np.asarray(values("final"), dtype=np.bool_),
        np.asarray(values("corrected"), dtype=np.bool_),
        numbers,
        [ConfounderCache(0, tuple(s.confounders)) for s in signals],
        signals[0].emitted_at,
    )


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_contract_examples_encode_to_their_json(path: Path) -> None:
    signal = Signal.model_validate_json(path.read_bytes()).model_copy(update={"cursor": None})
    (data,) = Revisions(columns=columns_of([signal])).encoded()
    assert data == signal_value(signal)
    # read back, it is the example's signal (the example may write times in another zone)
    assert Signal.model_validate_json(data) == signal


def test_every_way_a_batch_column_is_written() -> None:
    """A float column with no finite value, with only finite values, or some of each (NaN of
    either sign, infinities); a time column of whole seconds only, of none, or some of each; a
    column of one value (its text written once); confounders and tails all the same: the writer
    picks how to write each column from what the batch holds."""
    n = 4
    whole = 1_751_846_400_000_000
    times = {
        "anchor_at": np.full(n, whole),
        "base_at": whole + np.arange(1, n + 1) * 1_000_001,
        "last_at": whole + np.asarray([0, 1, 2_000_000, 999_999]),
        "peak_at": np.asarray([_FIRST_US, _LAST_US, 0, -1]),
    }
    not_finite = np.asarray([np.nan, -np.nan, np.inf, -np.inf])
    floats = {name: np.asarray([1e-7, -0.0, 2.5e300, 123.456]) for name in FLOAT_FIELDS}
    floats["gap_pct"] = not_finite
    floats["z_score"] = np.asarray([np.inf, 0.1, np.nan, -5e-324])
    floats["return_pct"] = np.asarray([0.5, np.nan, 0.5, 0.5])
    floats["time_to_peak_s"] = np.full(n, -0.0)  # one value: its text written once
    floats["max_rise_pct"] = np.asarray([-0.0, 0.0, -0.0, 0.0])  # equal, but not the same text
    part = RevisionColumns(
        Coded.of(["a", "b", "a", "b"]),
        Coded.of(["x"] * n),
        Coded.of(["close", "5m", "close", "1d"]),
        np.arange(1, n + 1, dtype=np.int64),
        np.asarray([True, False, True, False]),
        np.asarray([False, False, True, True]),
        times
        | floats
        | {
            "significant": np.asarray([1.0, 0.0, np.nan, 1.0]),
            "direction": np.asarray([0, 1, 2, 0]),
            "data_granularity": np.asarray([3, 4, 5, 3]),
        },
        [
            ConfounderCache(0, ()),
            ConfounderCache(0, ("b",)),
            ConfounderCache(0, ()),
            ConfounderCache(0, ("a", "c")),
        ],
        datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    )
    assert_columns_write_contract_bytes([part])
    # and each column alone, where the others are of one kind
    for rows_ in ([0], [1], [2], [3], [0, 2], [1, 3]):
        assert_columns_write_contract_bytes([part.take(np.asarray(rows_))])
