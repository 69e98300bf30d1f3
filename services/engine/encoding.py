"""Revisions sent together, as columns, and their contract JSON written in one pass.

A revision's JSON is constant key fragments and its values formatted by polars over whole
columns, for every instrument's revisions of a batch at once, in one query (a query's fixed
cost is about that of formatting a hundred revisions): floats as the shortest text that reads
back the same (what orjson writes), NaN and infinities as null (as orjson writes them), times as
ISO 8601 with `Z` and microseconds only where there are some. How a column is written follows
what the batch holds: a column with no finite value is the constant `null`, one with only
finite values or only whole seconds needs no fix-up. The values an announcement's horizons
share on an instrument are written once per run of adjacent revisions that agree on them, and
a column with one value in the batch (an announcement's anchor) as one text; strings (ids,
horizons) are escaped once, when first seen (names.py), and where windows are few, a window's
names are written once for all its revisions (identities.py); fields with few values
(the flags, `significant` with `direction`, and what follows the confounders) are picked from
texts written once. The confounders' JSON is the one the window cached when they last changed:
where it is short, polars writes each revision whole; where it is long (most of the bytes), the
text before it is joined to it and to the text after, so it is copied once. No orjson call is
made per revision; the bytes equal `signal_value` of the revision's `Signal`
(tests/engine/test_encoding.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import polars as pl

from services.engine.arrays import joined
from services.engine.confounders import ConfounderCache
from services.engine.identities import identity_pieces, window_texts
from services.engine.names import Coded, codes_of
from services.engine.reaction import LABELS
from services.frames import from_us

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
_SHARED = _BODY[:-2]
"""Fields that the windows of one announcement on one instrument (its horizons) have in common
while all are open: their text is written once for adjacent revisions that agree on all."""
_LABELS = [orjson.dumps(label).decode() for label in LABELS.tolist()]
_FLAGS = pl.Series(
    [f',"final":{f},"corrected":{c}' for f in ("false", "true") for c in ("false", "true")]
)
"""By `2 * final + corrected`."""
_SIGNIFICANT = ("false", "true", "null")
_VERDICT = pl.Series(
    [
        f',"significant":{s},"direction":{label},"confounders":'
        for s in _SIGNIFICANT
        for label in _LABELS
    ]
)
"""By `len(LABELS) * significant + direction` (significant: 0 false, 1 true, 2 null)."""
_JSON = attrgetter("json")


@dataclass(frozen=True, slots=True)
class RevisionColumns:
    """Revisions sent together (of any instruments); one value per revision in each column.

    `numbers` holds the reaction's fields as `reaction_columns` computes them (times in µs,
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


def encoded(parts: list[RevisionColumns]) -> list[bytes]:
    """Each revision's contract JSON, in order. Where the confounders' JSON is short, polars
    writes each revision whole; where it is long, the text before it is joined to it and to the
    text after (a long JSON is copied once: through polars it would be copied twice)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return []
    caches = list(chain.from_iterable(p.confounders for p in parts))
    tails, tail = _tails(parts)
    n = len(caches)
    sample = caches[:: max(1, n // _SAMPLE)]  # either way writes the same bytes
    if sum(len(c.json) for c in sample) <= _SHORT_BYTES * len(sample):
        distinct, codes = _distinct(caches)
        if distinct.count(distinct[0]) == len(distinct) and (tail == tail[0]).all():
            # one text after the verdict for all (one announcement, or none in the windows)
            end = pl.Series([distinct[0] + tails[tail[0]]], dtype=pl.Binary).cast(pl.String)
            return _written(parts, {"end": end.new_from_index(0, n)})
        after = {
            "confounders": pl.Series(distinct, dtype=pl.Binary).cast(pl.String)[codes],
            "tail": pl.Series(tails, dtype=pl.Binary).cast(pl.String)[tail],
        }
        return _written(parts, after)
    join = b"".join
    confounders = map(_JSON, caches)
    ends = np.asarray(tails, dtype=np.object_)[tail].tolist()
    return [join(t) for t in zip(_written(parts, {}), confounders, ends, strict=True)]


_SHORT_BYTES, _SAMPLE = 1024, 64
"""Confounders' JSON up to this long on average (over about this many revisions of a batch)
are copied into the revision by polars."""


def ndjson(parts: list[RevisionColumns]) -> bytes:
    """Each revision's contract JSON, one a line in order (JSON never holds a raw newline)."""
    return b"\n".join(encoded(parts))


def _written(parts: list[RevisionColumns], after: dict[str, pl.Series]) -> list[bytes]:
    """Each revision's JSON up to its confounders' value, followed by the texts `after`: one
    polars query over one frame (a query's fixed cost exceeds the work on a few thousand
    revisions, so there is only one per batch)."""
    significant = _concat(parts, "significant")
    code = np.where(np.isnan(significant), 2, significant == 1.0)
    body = {name: _concat(parts, name) for name, _ in _BODY}
    starts = _run_starts(body)
    kinds = tuple(_kind(body[name], kind) for name, kind in _BODY)
    named = window_texts(
        [p.announcement_ids for p in parts],
        [p.instruments for p in parts],
        [p.horizons for p in parts],
    )
    names = (
        {"prefix": named[0], "middle": named[1]}
        if named is not None
        else {
            "instrument": _escaped(p.instruments for p in parts),
            "aid": _escaped(p.announcement_ids for p in parts),
            "horizon": _escaped(p.horizons for p in parts),
        }
    )
    frame = pl.DataFrame(
        {
            **names,
            "revision": _concat(parts, "revision"),
            "flags": 2 * _concat(parts, "final") + _concat(parts, "corrected"),
            "start": starts,
            **{
                name: _column(body[name], kind, written_as)
                for (name, kind), written_as in zip(_BODY, kinds, strict=True)
                if written_as != _NULL
            },
            "verdict": len(LABELS) * code + _concat(parts, "direction"),
            **after,
        }
    )
    line = _line(tuple(after), kinds, bool(starts.all()), named is not None)
    written: list[bytes] = frame.select(line).to_series().to_list()
    return written


_NULL, _FINITE, _MIXED, _SAME = "null", "finite", "mixed", "same"
"""A float column's values: all null (not finite), all finite, or some of each; or one value
for all (a time column too), its text written once."""
_WHOLE, _FRACTION = "whole", "fraction"
"""A time column's values: all whole seconds, none (or else `_MIXED`)."""


def _kind(values: npt.NDArray[Any], kind: str) -> str:
    """What the values of one column of a batch are, which says how to write them."""
    if kind == "time":
        if values[-1] == values[0] and (values == values[0]).all():
            return _SAME
        whole = values % 1_000_000 == 0
        return _WHOLE if whole.all() else _MIXED if whole.any() else _FRACTION
    finite = np.isfinite(values)
    if not finite.any():
        return _NULL
    bits = np.asarray(values, dtype=np.float64).view(np.int64)
    if bits[-1] == bits[0] and (bits == bits[0]).all():  # -0.0 and 0.0 are written apart
        return _SAME
    return _FINITE if finite.all() else _MIXED


def _column(values: npt.NDArray[Any], kind: str, written_as: str) -> npt.NDArray[Any] | pl.Series:
    """A body column as the frame holds it: as is, NaN where a float is not finite, or where
    all values are the same, the JSON of the one value repeated (no further work per row)."""
    if written_as == _SAME:
        one = values[0].item()
        text = orjson.dumps(from_us(one) if kind == "time" else one, option=orjson.OPT_UTC_Z)
        return pl.Series([text], dtype=pl.Binary).cast(pl.String).new_from_index(0, len(values))
    return _finite(values) if kind == "float" else values


def _distinct(caches: list[ConfounderCache]) -> tuple[list[bytes], I64]:
    """The JSON of each distinct cache (revisions share their window's, and windows of one
    instrument's announcements share theirs) and each revision's among them."""
    ids = np.fromiter(map(id, caches), dtype=np.int64, count=len(caches))
    _, first, codes = np.unique(ids, return_index=True, return_inverse=True)
    return [caches[j].json for j in first.tolist()], codes


def _tails(parts: list[RevisionColumns]) -> tuple[list[bytes], I64]:
    """The JSON after the confounders' value (granularity and emission time) of each part and
    label, and each revision's among them."""
    texts = [
        f',"data_granularity":{label},"emitted_at":{_json_text(p.emitted_at)}}}'.encode()
        for p in parts
        for label in _LABELS
    ]
    part = np.repeat(np.arange(len(parts)) * len(_LABELS), [len(p) for p in parts])
    return texts, part + _concat(parts, "data_granularity")


@lru_cache(maxsize=256)
def _line(after: tuple[str, ...], kinds: tuple[str, ...], distinct: bool, named: bool) -> pl.Expr:
    """A revision's JSON up to its confounders' value, then the columns `after`, as bytes, from
    the columns `_written` makes, its `_BODY` fields of the `kinds` `_kind` says (built once
    for each: the same for most batches); the shared fields are written for the first
    revision of each run and repeated along it unless each is `distinct`."""
    revision = pl.col("revision").cast(pl.String)
    pieces = _identity(revision, named)
    pieces.append(pl.lit(_FLAGS).gather(pl.col("flags")))
    shared = len(_SHARED)
    if distinct:
        pieces += _fields(_BODY[:shared], kinds[:shared])
    else:
        start = pl.col("start")
        firsts = _joined(_fields(_BODY[:shared], kinds[:shared], start))
        pieces.append(firsts.gather(start.cum_sum() - 1))
    pieces += _fields(_BODY[shared:], kinds[shared:])
    pieces.append(pl.lit(_VERDICT).gather(pl.col("verdict")))
    pieces += [pl.col(name) for name in after]
    return _joined(pieces).cast(pl.Binary)


def _identity(revision: pl.Expr, named: bool) -> list[pl.Expr | str]:
    """The fields from `signal_id` to `revision`: from each window's texts where it is
    `named` (identities.py), else from the names' columns."""
    if named:
        prefix: list[pl.Expr | str] = [pl.col("prefix")]
        middle: list[pl.Expr | str] = [pl.col("middle")]
    else:
        prefix, middle = identity_pieces(pl.col("aid"), pl.col("instrument"), pl.col("horizon"))
    return ['{"signal_id":"', *prefix, revision, *middle, revision]


def _joined(pieces: list[pl.Expr | str]) -> pl.Expr:
    """The pieces' texts one after the other (adjacent constant texts joined first)."""
    merged: list[pl.Expr | str] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    if len(merged) == 1 and isinstance(merged[0], str):
        return pl.lit(merged[0])
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in merged])


def _fields(
    fields: tuple[tuple[str, str], ...], kinds: tuple[str, ...], rows: pl.Expr | None = None
) -> list[pl.Expr | str]:
    """`,"name":value` for each field (of the `rows` where given), written as its kind says."""
    pieces: list[pl.Expr | str] = []
    for (name, _), kind in zip(fields, kinds, strict=True):
        pieces.append(f',"{name}":')
        value = pl.col(name) if rows is None else pl.col(name).filter(rows)
        if kind == _NULL:
            pieces.append("null")
        elif kind == _SAME:  # the one value's JSON
            pieces.append(value)
        elif kind == _FINITE:  # the shortest text that reads back as the same float
            pieces.append(value.cast(pl.String))
        elif kind == _WHOLE:
            pieces += ['"', _time(value, "%Y-%m-%dT%H:%M:%SZ")]
        elif kind == _FRACTION:
            pieces += ['"', _time(value, "%Y-%m-%dT%H:%M:%S%.6fZ")]
        elif name in TIMES:  # microseconds only where they are not zero, as orjson writes
            fraction = _time(value, "%Y-%m-%dT%H:%M:%S%.6fZ")
            pieces += ['"', fraction.str.replace(".000000Z", "Z", literal=True)]
        else:  # not finite (NaN in the frame) as null
            pieces.append(value.fill_nan(None).cast(pl.String).fill_null("null"))
    return pieces


def _run_starts(body: dict[str, npt.NDArray[Any]]) -> npt.NDArray[np.bool_]:
    """Where a run of adjacent revisions with the same `_SHARED` values starts (equal bits: a
    NaN of another sign only starts a run)."""
    starts = np.ones(len(body["anchor_at"]), dtype=np.bool_)
    same = starts[1:].copy()
    for name, kind in _SHARED:
        dtype = np.float64 if kind == "float" else np.int64
        bits = np.asarray(body[name], dtype=dtype).view(np.int64)
        same &= bits[1:] == bits[:-1]
    starts[1:] = ~same
    return starts


def _concat(parts: list[RevisionColumns], name: str) -> npt.NDArray[Any]:
    """One column of all parts (not copied where there is one part: it is only read)."""
    if name in ("revision", "final", "corrected"):
        columns: list[npt.NDArray[Any]] = [getattr(p, name) for p in parts]
    else:
        columns = [p.numbers[name] for p in parts]
    return joined(columns)


def _finite(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """NaN where a value is not finite (written as null, as orjson writes infinities)."""
    finite = np.isfinite(values)
    return values if finite.all() else np.where(finite, values, np.nan)


def _json_text(value: str | datetime) -> str:
    text: str = orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()
    return text


def _escaped(columns: Iterable[Coded]) -> pl.Series:
    """Each string as the text of its JSON string literal (without its quotes)."""
    columns = list(columns)
    interned = columns[0].interned
    if all(c.interned is interned for c in columns):  # the engine's revisions: one gather
        codes = codes_of(columns)
        if (codes == codes[0]).all():  # e.g. one announcement's
            return interned.escaped()[int(codes[0]) : int(codes[0]) + 1].new_from_index(
                0, len(codes)
            )
        return interned.escaped()[codes]
    return pl.concat([c.escaped() for c in columns], rechunk=True)


def _time(us: pl.Expr, layout: str) -> pl.Expr:
    """µs since the epoch as text (UTC) with the closing quote."""
    return pl.from_epoch(us, time_unit="us").dt.to_string(layout + '"')
