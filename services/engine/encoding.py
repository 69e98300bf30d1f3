"""Revisions sent together, as columns, and their contract JSON written in one pass.

A revision's JSON is constant key fragments and its values formatted by polars over whole
columns, for every instrument's revisions of a batch at once: floats as the shortest text that
reads back the same (what orjson writes), NaN and infinities as null (as orjson writes them),
times as ISO 8601 with `Z` and microseconds only where there are some (each distinct time
formatted once). The values an announcement's horizons share on an instrument are written once
per run of adjacent revisions that agree on them; strings (ids, horizons) are escaped once, when
first seen (names.py); fields with few values (the flags, `significant` with `direction`, and
what follows the confounders) are picked from texts written once. The confounders' JSON is the
one the window cached when they last changed: where it is short, polars writes each revision
whole; where it is long (most of the bytes), the text before it is joined to it and to the text
after, so it is copied once. No orjson call is made per revision; the bytes equal
`signal_value` of the revision's `Signal` (tests/engine/test_encoding.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import polars as pl

from services.engine.confounders import ConfounderCache
from services.engine.names import Coded
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
    confounders = list(map(_JSON, chain.from_iterable(p.confounders for p in parts)))
    tails, tail = _tails(parts)
    if sum(map(len, confounders)) <= _SHORT_BYTES * len(confounders):
        ending = pl.Series(tails, dtype=pl.Binary).cast(pl.String).gather(tail)
        return _written(parts, [_distinct(confounders), ending])
    join = b"".join
    ends = np.asarray(tails, dtype=np.object_)[tail].tolist()
    return [join(t) for t in zip(_written(parts, []), confounders, ends, strict=True)]


_SHORT_BYTES = 1024
"""Confounders' JSON up to this long on average are copied into the revision by polars."""


def ndjson(parts: list[RevisionColumns]) -> bytes:
    """Each revision's contract JSON, one a line in order (JSON never holds a raw newline)."""
    return b"\n".join(encoded(parts))


def _written(parts: list[RevisionColumns], after: list[pl.Series]) -> list[bytes]:
    """Each revision's JSON up to its confounders' value, followed by the texts `after`."""
    significant = _concat(parts, "significant")
    code = np.where(np.isnan(significant), 2, significant == 1.0)
    frame = pl.DataFrame(
        {
            "instrument": _escaped(p.instruments for p in parts),
            "aid": _escaped(p.announcement_ids for p in parts),
            "horizon": _escaped(p.horizons for p in parts),
            "revision": _concat(parts, "revision"),
            "flags": 2 * _concat(parts, "final") + _concat(parts, "corrected"),
            "shared": _shared_text(parts),
            **{name: _finite(_concat(parts, name)) for name, _ in _BODY[len(_SHARED) :]},
            "verdict": len(LABELS) * code + _concat(parts, "direction"),
        },
        nan_to_null=True,
    )
    line = pl.concat_str([_line(), *after]) if after else _line()
    written: list[bytes] = frame.select(line).to_series().cast(pl.Binary).to_list()
    return written


def _distinct(values: list[bytes]) -> pl.Series:
    """`values` as a column, each distinct value copied once (revisions share their window's
    confounders)."""
    index = {value: code for code, value in enumerate(dict.fromkeys(values))}
    codes = pl.Series(list(map(index.__getitem__, values)), dtype=pl.UInt32)
    return pl.Series(list(index), dtype=pl.Binary).cast(pl.String).gather(codes)


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


@cache
def _line() -> pl.Expr:
    """A revision's JSON up to its confounders' value, from the columns `_written` makes (built
    once: the same for every batch)."""
    aid, inside, horizon = pl.col("aid"), pl.col("instrument"), pl.col("horizon")
    revision = pl.col("revision").cast(pl.String)
    pieces: list[pl.Expr | str] = [
        '{"signal_id":"',
        aid,
        "|",
        inside,
        "|",
        horizon,
        "|",
        revision,
        '","cursor":null,"announcement_id":"',
        aid,
        '","instrument":"',
        inside,
        '","horizon":"',
        horizon,
        '","revision":',
        revision,
        pl.lit(_FLAGS).gather(pl.col("flags")),
    ]
    pieces.append(pl.col("shared"))
    pieces += _fields(_BODY[len(_SHARED) :])
    pieces.append(pl.lit(_VERDICT).gather(pl.col("verdict")))
    return _joined(pieces)


def _joined(pieces: list[pl.Expr | str]) -> pl.Expr:
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in pieces])


def _fields(fields: tuple[tuple[str, str], ...]) -> list[pl.Expr | str]:
    """`,"name":value` for each field (a time's column holds its JSON text already)."""
    pieces: list[pl.Expr | str] = []
    for name, kind in fields:
        # a float as the shortest text that reads back as the same float, null as null
        value = pl.col(name)
        value = value.cast(pl.String).fill_null("null") if kind == "float" else _time(value)
        pieces += [f',"{name}":', value]
    return pieces


def _shared_text(parts: list[RevisionColumns]) -> pl.Series:
    """The text of the `_SHARED` fields of each revision, written once for each run of
    adjacent revisions with the same values (equal bits: a NaN of another sign is only
    written again)."""
    columns = {name: _concat(parts, name) for name, _ in _SHARED}
    starts = np.ones(len(columns["anchor_at"]), dtype=np.bool_)
    same = starts[1:].copy()
    for name, kind in _SHARED:
        dtype = np.float64 if kind == "float" else np.int64
        bits = np.asarray(columns[name], dtype=dtype).view(np.int64)
        same &= bits[1:] == bits[:-1]
    starts[1:] = ~same
    firsts = np.flatnonzero(starts)
    frame = pl.DataFrame(
        {
            name: columns[name][firsts] if kind == "time" else _finite(columns[name][firsts])
            for name, kind in _SHARED
        },
        nan_to_null=True,
    )
    text = frame.select(_shared_line()).to_series()
    return text.gather(np.cumsum(starts) - 1)


@cache
def _shared_line() -> pl.Expr:
    """The `_SHARED` fields' JSON from their values (times as µs)."""
    return _joined(_fields(_SHARED))


def _concat(parts: list[RevisionColumns], name: str) -> npt.NDArray[Any]:
    if name in ("revision", "final", "corrected"):
        column: npt.NDArray[Any] = np.concatenate([getattr(p, name) for p in parts])
        return column
    return np.concatenate([p.numbers[name] for p in parts])


def _finite(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """NaN where a value is not finite (written as null, as orjson writes infinities)."""
    finite = np.isfinite(values)
    return values if finite.all() else np.where(finite, values, np.nan)


def _json_text(value: str | datetime) -> str:
    text: str = orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()
    return text


def _escaped(columns: Iterable[Coded]) -> pl.Series:
    """Each string as the text of its JSON string literal (without its quotes)."""
    texts = [c.escaped() for c in columns]
    return texts[0] if len(texts) == 1 else pl.concat(texts, rechunk=True)


def _time(us: pl.Expr) -> pl.Expr:
    """µs since the epoch as orjson writes an aware UTC datetime: microseconds only where
    they are not zero (only then does the text end in `.000000Z`)."""
    text = pl.from_epoch(us, time_unit="us").dt.to_string('"%Y-%m-%dT%H:%M:%S%.6fZ"')
    return text.str.replace('.000000Z"', 'Z"', literal=True)
