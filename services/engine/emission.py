"""Revisions as columns: built for many windows at once, encoded to the contract's JSON bytes
without a pydantic object per revision, and turned into `Signal`s only where a caller reads one.

A revision's fields live in one dict in the contract's field order (its confounders as the
window's cached tuple). `Revisions.encoded()` writes each dict with orjson, the confounders as
the JSON the window cached when they last changed; the bytes equal `signal_value` of the
`Signal` (tests/engine/test_emission.py). `Signal`s are built from the same dicts on first
access (as unpickling builds a model: no validation, no copy of the other fields).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import orjson

from services.events import Signal
from services.frames import from_us

SIGNAL_FIELDS = tuple(Signal.model_fields)
_TIMES = frozenset({"anchor_at", "base_at", "last_at", "peak_at"})
_NULLABLE = frozenset(
    {"gap_pct", "baseline_mean_pct", "baseline_std_pct", "z_score", "abnormal_return_pct"}
)
CONTENT = (
    *sorted(_TIMES),
    *sorted(_NULLABLE),
    "base_price",
    "last_price",
    "return_pct",
    "max_rise_pct",
    "max_fall_pct",
    "time_to_peak_s",
    "significant",
    "direction",
    "data_granularity",
    "confounders",
)
"""The fields that say what a reaction is (not which revision it is or when it was sent)."""


class Revisions(Sequence[Signal]):
    """Revisions in the order sent; a sequence of `Signal`s built on first access."""

    __slots__ = ("_json", "_rows", "_signals")

    def __init__(
        self,
        rows: list[dict[str, Any]] | None = None,
        confounders_json: list[orjson.Fragment | None] | None = None,
    ) -> None:
        self._rows = rows or []
        # per row: its confounders already encoded, or None to encode the tuple
        self._json = confounders_json or [None] * len(self._rows)
        self._signals: list[Signal | None] = [None] * len(self._rows)

    def extend(self, other: Revisions) -> None:
        self._rows += other._rows
        self._json += other._json
        self._signals += other._signals

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Signal: ...
    @overload
    def __getitem__(self, index: slice) -> list[Signal]: ...
    def __getitem__(self, index: int | slice) -> Signal | list[Signal]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        signal = self._signals[index]
        if signal is None:
            signal = self._signals[index] = _construct(self._rows[index])
        return signal

    def __iter__(self) -> Iterator[Signal]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Sequence[Signal]) -> list[Signal]:
        return [*self, *other]

    def __radd__(self, other: Sequence[Signal]) -> list[Signal]:
        return [*other, *self]

    def __repr__(self) -> str:
        return f"Revisions({len(self)})"

    def encoded(self) -> list[bytes]:
        """Each revision as the contract's JSON bytes (what Kafka and replay files carry)."""
        out: list[bytes] = []
        for fields, confounders in zip(self._rows, self._json, strict=True):
            if confounders is not None:
                fields = {**fields, "confounders": confounders}
            out.append(orjson.dumps(fields, option=orjson.OPT_UTC_Z))
        return out


def fields_of(signal: Signal) -> dict[str, Any]:
    """A signal's fields as a revision row (its confounders as a tuple)."""
    return {**signal.__dict__, "confounders": tuple(signal.confounders)}


def _construct(fields: dict[str, Any]) -> Signal:
    """A Signal from a revision row, without validation."""
    signal = Signal.__new__(Signal)
    signal.__setstate__(
        {
            "__dict__": {**fields, "confounders": list(fields["confounders"])},
            "__pydantic_fields_set__": set(SIGNAL_FIELDS),
            "__pydantic_extra__": None,
            "__pydantic_private__": None,
        }
    )
    return signal


def same_content(previous: dict[str, Any], fields: dict[str, Any]) -> bool:
    return all(previous[name] == fields[name] for name in CONTENT)


@lru_cache(maxsize=1 << 16)
def utc(t_us: int) -> datetime:
    """Cached: windows of one instrument share anchors, bases and last observations."""
    return from_us(t_us)


def rows_of(columns: dict[str, list[Any] | npt.NDArray[Any]]) -> list[dict[str, Any]]:
    """One dict per row, in the contract's field order, from a column per Signal field
    (numbers: NaN for null, µs for times)."""
    values = [_python(name, columns[name]) for name in SIGNAL_FIELDS]
    return [dict(zip(SIGNAL_FIELDS, row, strict=True)) for row in zip(*values, strict=True)]


def _python(name: str, column: list[Any] | npt.NDArray[Any]) -> list[Any]:
    if isinstance(column, list):
        return column
    if name in _TIMES:
        return [utc(t) for t in column.tolist()]
    if name in _NULLABLE:
        return _nullable(column)
    if name == "significant":
        return [None if v is None else v == 1.0 for v in _nullable(column)]
    values: list[Any] = column.tolist()
    return values


def _nullable(column: npt.NDArray[np.float64]) -> list[float | None]:
    missing = np.isnan(column)
    if missing.all():
        return [None] * len(column)
    values: list[float | None] = column.tolist()
    if missing.any():
        return [None if v != v else v for v in values]  # NaN is the only value unequal to itself
    return values
