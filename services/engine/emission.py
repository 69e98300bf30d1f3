"""Revisions as columns: built for many windows at once, encoded to the contract's JSON bytes
in one pass over the columns (encoding.py), and turned into `Signal`s only where a caller reads
one.

A revision's row (a dict in the contract's field order, its confounders as the window's cached
tuple) is made only where it is needed: for a `Signal` (built as unpickling builds a model: no
validation, no copy of the other fields), and for a final revision, which the window keeps to
tell a correction from a repeat (`same_content`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import orjson

from services.engine.encoded import EncodedRevisions
from services.engine.encoding import RevisionColumns, encoded
from services.engine.reaction import LABELS
from services.events import Signal
from services.frames import from_us

SIGNAL_FIELDS = tuple(Signal.model_fields)
_LABELLED = frozenset({"direction", "data_granularity"})
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
    """Revisions in the order sent; a sequence of `Signal`s built on first access.

    Held as parts: the columns of revisions sent together (the engine's windows), or rows
    (dicts in the contract's field order, e.g. corrections of retired windows). `encoded()`
    writes all column parts in one pass (encoding.py); rows and `Signal`s are made only where a
    caller reads one."""

    __slots__ = ("_len", "_parts", "_rows", "_signals")

    def __init__(
        self, rows: list[dict[str, Any]] | None = None, columns: RevisionColumns | None = None
    ) -> None:
        self._parts: list[RevisionColumns | list[dict[str, Any]]] = []
        self._len = 0
        self._rows: list[dict[str, Any]] | None = None
        self._signals: list[Signal | None] | None = None
        for part in (rows, columns):
            if part:
                self._parts.append(part)
                self._len += len(part)

    def extend(self, other: Revisions) -> None:
        if not other._len:
            return
        if self._rows is not None:
            self._rows += other._all_rows()
        if self._signals is not None:
            self._signals += other._signals or [None] * other._len
        self._parts += other._parts
        self._len += other._len

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> Signal: ...
    @overload
    def __getitem__(self, index: slice) -> list[Signal]: ...
    def __getitem__(self, index: int | slice) -> Signal | list[Signal]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if self._signals is None:
            self._signals = [None] * self._len
        signal = self._signals[index]
        if signal is None:
            signal = self._signals[index] = _construct(self._all_rows()[index])
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

    @property
    def parts(self) -> Sequence[RevisionColumns | list[dict[str, Any]]]:
        """As held, in order: columns of revisions sent together, or rows (dicts in the
        contract's field order)."""
        return self._parts

    def encoded(self) -> EncodedRevisions:
        """Each revision as the contract's JSON bytes (what Kafka and replay files carry), in
        one buffer."""
        return EncodedRevisions.joined(
            [
                encoded(columns)
                if columns
                else EncodedRevisions.of([_dumps(fields) for fields in part_rows])
                for columns, part_rows in self._runs()
            ]
        )

    def ndjson(self) -> bytes:
        """Every revision's contract JSON, one a line (no newline after the last)."""
        return self.encoded().ndjson()

    def _runs(self) -> Iterator[tuple[list[RevisionColumns], list[dict[str, Any]]]]:
        """The parts in order: consecutive column parts together (encoded in one pass), row
        parts alone."""
        columns: list[RevisionColumns] = []
        for part in self._parts:
            if isinstance(part, RevisionColumns):
                columns.append(part)
                continue
            if columns:
                yield columns, []
                columns = []
            yield [], part
        if columns:
            yield columns, []

    def _all_rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._rows = []
            for part in self._parts:
                self._rows += rows(part) if isinstance(part, RevisionColumns) else part
        return self._rows


def _dumps(fields: dict[str, Any]) -> bytes:
    return orjson.dumps(fields, option=orjson.OPT_UTC_Z)


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


def same_content(previous: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    return all(previous[name] == fields[name] for name in CONTENT)


@lru_cache(maxsize=1 << 16)
def utc(t_us: int) -> datetime:
    """Cached: windows of one instrument share anchors, bases and last observations."""
    return from_us(t_us)


class SentRow(Mapping[str, Any]):
    """A final revision's fields, kept by its window (`WindowMeta.last_sent`) to tell a later
    correction from a repeat. Read from the columns it was sent in: the rows of the finals sent
    together are made, all at once, only when one of them is first read (a correction, a
    restore, a snapshot), not for every final sent."""

    __slots__ = ("_j", "_sent")

    def __init__(self, sent: _SentTogether, j: int) -> None:
        self._sent = sent
        self._j = j

    def _fields(self) -> dict[str, Any]:
        return self._sent.rows()[self._j]

    def __getitem__(self, name: str) -> Any:
        return self._fields()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields())

    def __len__(self) -> int:
        return len(SIGNAL_FIELDS)

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return dict, (self._fields(),)  # a snapshot holds the fields themselves


class _SentTogether:
    __slots__ = ("_batch", "_rows")

    def __init__(self, batch: RevisionColumns) -> None:
        self._batch: RevisionColumns | None = batch
        self._rows: list[dict[str, Any]] | None = None

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            assert self._batch is not None
            self._rows, self._batch = rows(self._batch), None
        return self._rows


def sent_rows(batch: RevisionColumns) -> list[SentRow]:
    """The revisions of `batch` as rows made when first read."""
    together = _SentTogether(batch)
    return [SentRow(together, j) for j in range(len(batch))]


def rows(batch: RevisionColumns) -> list[dict[str, Any]]:
    """One dict per revision of `batch`, in the contract's field order."""
    n = len(batch)
    revisions: list[int] = batch.revision.tolist()
    announcement_ids = batch.announcement_ids.tolist()
    instruments = batch.instruments.tolist()
    horizons = batch.horizons.tolist()
    identity: dict[str, list[Any]] = {
        "signal_id": [
            f"{a}|{i}|{h}|{r}"
            for a, i, h, r in zip(announcement_ids, instruments, horizons, revisions, strict=True)
        ],
        "cursor": [None] * n,
        "announcement_id": announcement_ids,
        "instrument": instruments,
        "horizon": horizons,
        "revision": revisions,
        "final": batch.final.tolist(),
        "corrected": batch.corrected.tolist(),
        "confounders": [c.ids for c in batch.confounders],
        "emitted_at": [batch.emitted_at] * n,
    }
    return rows_of(batch.numbers | identity)


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
    if name in _LABELLED:
        labels: list[Any] = LABELS[column].tolist()
        return labels
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
