"""Revisions sent together, as columns, and their contract JSON written by a compiled writer.

The fields are laid out here, in signal.v1's order, as columns of a few kinds (texts by code,
integers, floats, times, JSON of their own); `compiled.write_objects` (Rust,
services/engine/native) writes each revision's object from them in one pass over the batch, one
after the other into one buffer (encoded.py): floats as the shortest text that reads back the
same (what orjson writes), NaN and infinities as null (as orjson writes them), times as ISO 8601
with `Z` and microseconds only where there are some. Strings (ids, horizons) are escaped once,
when first seen (names.py); the confounders' JSON is the one the window cached when they last
changed, copied once into its revision (where a batch's long lists outweigh the rest of its
bytes, after its rows are written, on two threads: native/src/placed.rs). The bytes equal
`signal_value` of the revision's `Signal` (tests/engine/test_encoding.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from services.engine import compiled
from services.engine.arrays import joined
from services.engine.confounders import ConfounderCache
from services.engine.encoded import EncodedRevisions
from services.engine.names import Coded, codes_of
from services.engine.reaction import LABELS

I64 = npt.NDArray[np.int64]
TIMES = ("anchor_at", "base_at", "last_at", "peak_at")
# the fields from `anchor_at` to `abnormal_return_pct`, in the contract's order: times or floats
_BODY = (
    ("anchor_at", "time"),
    ("base_price", "float"),
    ("base_at", "time"),
    ("last_price", "float"),
    ("last_at", "time"),
    ("return_pct", "float"),
    ("max_rise_pct", "float"),
    ("max_fall_pct", "float"),
    ("peak_at", "time"),
    ("time_to_peak_s", "float"),
    ("gap_pct", "float"),
    ("baseline_mean_pct", "float"),
    ("baseline_std_pct", "float"),
    ("z_score", "float"),
    ("abnormal_return_pct", "float"),
)
FLOAT_FIELDS = tuple(name for name, kind in _BODY if kind == "float")
_LABELS = [orjson.dumps(label).decode() for label in LABELS.tolist()]
_BOOLEANS = ["false", "true"]
_SIGNIFICANT = ["false", "true", "null"]
"""By code: 0 false, 1 true, 2 null."""
_NULL = ["null"]


@dataclass(frozen=True, slots=True)
class RevisionColumns:
    """Revisions sent together (of any instruments); one value per revision in each column.

    `numbers` holds the reaction's fields as `reaction_fields` computes them (times in µs,
    NaN for null, `significant` as 1.0 / 0.0 / NaN, labels as codes into `LABELS`)."""

    instruments: Coded
    announcement_ids: Coded
    horizons: Coded
    revision: I64
    final: npt.NDArray[np.bool_]
    corrected: npt.NDArray[np.bool_]
    numbers: dict[str, npt.NDArray[Any]]
    confounders: list[ConfounderCache]
    emitted_at: datetime

    def __len__(self) -> int:
        return len(self.revision)

    def take(self, rows: npt.NDArray[np.intp]) -> RevisionColumns:
        """The revisions at `rows`."""
        at = rows.tolist()
        return RevisionColumns(
            self.instruments.take(rows),
            self.announcement_ids.take(rows),
            self.horizons.take(rows),
            self.revision[rows],
            self.final[rows],
            self.corrected[rows],
            {name: column[rows] for name, column in self.numbers.items()},
            [self.confounders[j] for j in at],
            self.emitted_at,
        )


def encoded(parts: list[RevisionColumns]) -> EncodedRevisions:
    """Each revision's contract JSON, in order."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return EncodedRevisions.of([])
    n = sum(len(p) for p in parts)
    aid, instrument, horizon = (
        _names([getattr(p, name) for p in parts])
        for name in ("announcement_ids", "instruments", "horizons")
    )
    revision = _concat(parts, "revision", np.int64)
    significant = _concat(parts, "significant", np.float64)
    verdict = np.where(np.isnan(significant), 2, significant == 1.0).astype(np.int64)
    fields: list[tuple[Any, ...]] = [
        (
            "joined",
            "signal_id",
            [
                ("text", *aid),
                ("literal", "|"),
                ("text", *instrument),
                ("literal", "|"),
                ("text", *horizon),
                ("literal", "|"),
                ("int", revision),
            ],
        ),
        ("raw", "cursor", np.zeros(n, dtype=np.int64), _NULL),
        ("string", "announcement_id", *aid),
        ("string", "instrument", *instrument),
        ("string", "horizon", *horizon),
        ("int", "revision", revision),
        ("raw", "final", _concat(parts, "final", np.int64), _BOOLEANS),
        ("raw", "corrected", _concat(parts, "corrected", np.int64), _BOOLEANS),
        *((kind, name, _concat(parts, name, _DTYPES[kind])) for name, kind in _BODY),
        ("raw", "significant", verdict, _SIGNIFICANT),
        ("raw", "direction", _concat(parts, "direction", np.int64), _LABELS),
        ("json", "confounders", _joined_lists([p.confounders for p in parts]), "json"),
        ("raw", "data_granularity", _concat(parts, "data_granularity", np.int64), _LABELS),
        ("raw", "emitted_at", *_emitted_at(parts)),
    ]
    written, ends = compiled.write_objects(fields, n)
    return EncodedRevisions(np.frombuffer(memoryview(written), dtype=np.uint8), ends)


_DTYPES = {"time": np.int64, "float": np.float64}


def _names(columns: list[Coded]) -> tuple[I64, list[str]]:
    """Each name's code among the texts it is written from (escaped for JSON, unquoted): the
    columns' own where all share one `Interned` (the engine's), else theirs one after the other."""
    interned = columns[0].interned
    if all(c.interned is interned for c in columns):
        return _contiguous(codes_of(columns), np.int64), interned.escaped_texts()
    texts: list[str] = []
    codes = []
    for column in columns:
        codes.append(column.codes + len(texts))
        texts += column.interned.escaped_texts()
    return _contiguous(joined(codes), np.int64), texts


def _joined_lists(lists: list[list[ConfounderCache]]) -> list[ConfounderCache]:
    """The lists one after the other (the list itself where there is one: it is only read)."""
    return lists[0] if len(lists) == 1 else [c for one in lists for c in one]


def _emitted_at(parts: list[RevisionColumns]) -> tuple[I64, list[str]]:
    """Each revision's emission time, by its part's code among their texts."""
    texts = [orjson.dumps(p.emitted_at, option=orjson.OPT_UTC_Z).decode() for p in parts]
    return np.repeat(np.arange(len(parts), dtype=np.int64), [len(p) for p in parts]), texts


def _concat(parts: list[RevisionColumns], name: str, dtype: type[Any]) -> npt.NDArray[Any]:
    """One column of all parts, as the writer reads it."""
    if name in ("revision", "final", "corrected"):
        columns: list[npt.NDArray[Any]] = [getattr(p, name) for p in parts]
    else:
        columns = [p.numbers[name] for p in parts]
    return _contiguous(joined(columns), dtype)


def _contiguous(values: npt.NDArray[Any], dtype: type[Any]) -> npt.NDArray[Any]:
    """`values` of `dtype` in one block, as the writer reads them (not copied where they are)."""
    return np.ascontiguousarray(values, dtype=dtype)
