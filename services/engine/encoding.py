"""Revisions sent together, as columns, and their contract JSON written in one pass.

A revision's JSON is constant key fragments and its values formatted by polars over whole
columns, for every instrument's revisions of a batch at once: floats as the shortest text that
reads back the same (what orjson writes), NaN and infinities as null (as orjson writes them),
times as ISO 8601 with `Z` and microseconds only where there are some (each distinct time
formatted once). The text before and after the confounders is joined to the JSON the window
cached when they last changed (often most of the bytes), so that is copied once. No orjson
call is made per revision; the bytes equal `signal_value` of the revision's `Signal`
(tests/engine/test_encoding.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import polars as pl

from services.engine.confounders import ConfounderCache
from services.engine.reaction import LABELS

I64 = npt.NDArray[np.int64]
TIMES = ("anchor_at", "base_at", "last_at", "peak_at")
# the fields after `corrected`, in the contract's order, with how each is written
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
    ("significant", "bool_or_null"),
    ("direction", "label"),
    ("confounders", "json"),
    ("data_granularity", "label"),
)
FLOAT_FIELDS = tuple(name for name, kind in _BODY if kind == "float")
_LABELS_JSON = pl.Series([orjson.dumps(label).decode() for label in LABELS.tolist()])


@dataclass(frozen=True, slots=True)
class RevisionColumns:
    """Revisions sent together (of any instruments); one value per revision in each column.

    `numbers` holds the reaction's fields as `reaction_columns` computes them (times in µs,
    NaN for null, `significant` as 1.0 / 0.0 / NaN, labels as codes into `LABELS`)."""

    instruments: list[str]
    announcement_ids: list[str]
    horizons: list[str]
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
            [self.instruments[j] for j in at],
            [self.announcement_ids[j] for j in at],
            [self.horizons[j] for j in at],
            self.revision[rows],
            self.final[rows],
            self.corrected[rows],
            {name: column[rows] for name, column in self.numbers.items()},
            [self.confounders[j] for j in at],
            self.emitted_at,
        )


def encoded(parts: list[RevisionColumns]) -> list[bytes]:
    """Each revision's contract JSON, in order: the text around its confounders written over
    columns, joined to the JSON the window cached (copied once, whatever its size)."""
    heads, tails = _halves(parts)
    confounders = (c.json for p in parts for c in p.confounders)
    join = b"".join
    return [join((h, c, t)) for h, c, t in zip(heads, confounders, tails, strict=True)]


def ndjson(parts: list[RevisionColumns]) -> bytes:
    """Each revision's contract JSON, one a line in order (JSON never holds a raw newline)."""
    return b"\n".join(encoded(parts))


def _halves(parts: list[RevisionColumns]) -> tuple[list[bytes], list[bytes]]:
    """Each revision's JSON up to its confounders' value, and after it."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return [], []
    emitted = pl.Series([_json_text(p.emitted_at) for p in parts])
    frame = pl.DataFrame(
        {
            # per part: its emission time, gathered by each revision's part
            "emitted": emitted.gather(np.repeat(np.arange(len(parts)), [len(p) for p in parts])),
            "instrument": _escaped([i for p in parts for i in p.instruments]),
            "aid": _escaped([a for p in parts for a in p.announcement_ids]),
            "horizon": _escaped([h for p in parts for h in p.horizons]),
            "revision": _concat(parts, "revision"),
            "final": _concat(parts, "final"),
            "corrected": _concat(parts, "corrected"),
            **{name: _concat(parts, name) for name, kind in _BODY if kind in ("float", "label")},
            "significant": _concat(parts, "significant"),
            **_times(parts),
        },
        nan_to_null=False,
    )
    head, tail = frame.select(_line()).get_columns()
    heads: list[bytes] = head.cast(pl.Binary).to_list()
    tails: list[bytes] = tail.cast(pl.Binary).to_list()
    return heads, tails


@cache
def _line() -> tuple[pl.Expr, pl.Expr]:
    """A revision's JSON before and after its confounders' value, from the columns `_halves`
    makes (built once: the same for every batch)."""
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
        ',"final":',
        _bool(pl.col("final")),
        ',"corrected":',
        _bool(pl.col("corrected")),
    ]
    at = [name for name, _ in _BODY].index("confounders")
    for name, kind in _BODY[:at]:
        pieces += [f',"{name}":', _value(name, kind)]
    pieces.append(',"confounders":')
    after: list[pl.Expr | str] = []
    for name, kind in _BODY[at + 1 :]:
        after += [f',"{name}":', _value(name, kind)]
    after += [',"emitted_at":', pl.col("emitted"), "}"]
    head, tail = (
        pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in half]).alias(alias)
        for half, alias in ((pieces, "head"), (after, "tail"))
    )
    return head, tail


def _concat(parts: list[RevisionColumns], name: str) -> npt.NDArray[Any]:
    if name in ("revision", "final", "corrected"):
        return np.concatenate([getattr(p, name) for p in parts])
    return np.concatenate([p.numbers[name] for p in parts])


def _times(parts: list[RevisionColumns]) -> dict[str, pl.Series]:
    """Each time column as JSON text; revisions share few times, so each distinct one is
    formatted once."""
    values = np.concatenate([_concat(parts, name) for name in TIMES])
    distinct, inverse = np.unique(values, return_inverse=True)
    text = pl.Series(distinct).to_frame("us").select(_time(pl.col("us"))).to_series()
    n = len(values) // len(TIMES)
    return {
        name: text.gather(pl.Series(inverse[k * n : (k + 1) * n])) for k, name in enumerate(TIMES)
    }


def _value(name: str, kind: str) -> pl.Expr:
    column = pl.col(name)
    if kind == "float":
        # the shortest text that reads back as the same float; NaN and infinities as null
        return pl.when(column.is_finite()).then(column.cast(pl.String)).otherwise(pl.lit("null"))
    if kind == "bool_or_null":
        return (
            pl.when(column == 1.0)
            .then(pl.lit("true"))
            .when(column == 0.0)
            .then(pl.lit("false"))
            .otherwise(pl.lit("null"))
        )
    if kind == "label":
        return pl.lit(_LABELS_JSON).gather(column)
    return column  # already JSON: a time


def _json_text(value: str | datetime) -> str:
    text: str = orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()
    return text


def _escaped(values: list[str]) -> pl.Series:
    """Each string as the text of its JSON string literal (escaped where it must be, without
    its quotes); each distinct string escaped once."""
    index: dict[str, int] = {}
    codes = [index.setdefault(value, len(index)) for value in values]
    texts = [orjson.dumps(value).decode()[1:-1] for value in index]
    return pl.Series(texts, dtype=pl.String).gather(codes)


def _bool(column: pl.Expr) -> pl.Expr:
    return pl.when(column).then(pl.lit("true")).otherwise(pl.lit("false"))


def _time(us: pl.Expr) -> pl.Expr:
    """µs since the epoch as orjson writes an aware UTC datetime: microseconds only where
    they are not zero."""
    at = pl.from_epoch(us, time_unit="us")
    return (
        pl.when(us % 1_000_000 == 0)
        .then(at.dt.to_string('"%Y-%m-%dT%H:%M:%SZ"'))
        .otherwise(at.dt.to_string('"%Y-%m-%dT%H:%M:%S%.6fZ"'))
    )
