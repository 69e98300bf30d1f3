"""What the live metrics read from published revisions, counted for many batches at once: how
many per (instrument, horizon, final), how many per instrument in each batch (each batch has
its own latency), the latest return and z-score per (instrument, horizon), and the first batch
of each announcement.

The engine's revisions are columns of codes (services/engine/emission.py): of those only the
columns read here are kept until counted (`Columns`), so the rest of a batch's revisions is freed
when the batch is sent, as it is without metrics. They are counted as arrays, in steps that each
pass over the revisions once (`bincount`, `minimum.at`: no sort), and each series' labels are
looked up in C (`map`, `zip`), with no Python step per revision. Other revisions (`Signal`s read
back from the store, rows of corrections) are kept as tuples of the fields read here and counted
one by one."""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter

import numpy as np
import numpy.typing as npt

from services.engine.arrays import joined
from services.engine.emission import Revisions
from services.engine.encoding import RevisionColumns
from services.engine.names import Coded, Interned
from services.events import Signal

Labels = tuple[str, ...]
"""A series' labels: (instrument, horizon), or (instrument, horizon, final as "true" /
"false")."""
Fields = tuple[str, str, bool, float, float | None, str]
"""instrument, horizon, final, return_pct, z_score, announcement_id"""


@dataclass(frozen=True, slots=True)
class Columns:
    """The columns of the engine's revisions (a `RevisionColumns`) that are counted."""

    instruments: Coded
    horizons: Coded
    announcement_ids: Coded
    final: npt.NDArray[np.bool_]
    return_pct: npt.NDArray[np.float64]
    z_score: npt.NDArray[np.float64]
    """NaN where null."""

    @classmethod
    def of(cls, part: RevisionColumns) -> Columns:
        numbers = part.numbers
        return cls(
            part.instruments,
            part.horizons,
            part.announcement_ids,
            part.final,
            numbers["return_pct"],
            numbers["z_score"],
        )

    def __len__(self) -> int:
        return len(self.final)


Part = Columns | list[Fields]

FINAL_LABEL = ("false", "true")
_NAMES = ("instrument", "horizon", "final", "return_pct", "z_score", "announcement_id")
_SIGNAL_FIELDS = attrgetter(*_NAMES)
_ROW_FIELDS = itemgetter(*_NAMES)


def parts_of(revisions: Sequence[Signal]) -> list[Part]:
    """What the counting needs of `revisions`, holding no `Signal`: the engine's columns that
    are counted, anything else as tuples."""
    if not isinstance(revisions, Revisions):
        return [list(map(_SIGNAL_FIELDS, revisions))]
    return [
        Columns.of(part) if isinstance(part, RevisionColumns) else list(map(_ROW_FIELDS, part))
        for part in revisions.parts
    ]


@dataclass(slots=True)
class Tally:
    emitted: collections.Counter[Labels] = field(default_factory=collections.Counter)
    by_batch: list[collections.Counter[str]] = field(default_factory=list)
    """Revisions per instrument, for each batch."""
    latest_return: dict[Labels, float] = field(default_factory=dict)
    latest_z: dict[Labels, float] = field(default_factory=dict)
    """Of the last revision of each series, where it has one."""
    first_batch: dict[str, int] = field(default_factory=dict)
    """Each announcement's first batch."""


def tally(batches: Sequence[Sequence[Part]]) -> Tally:
    """`batches` in the order sent."""
    out = Tally(by_batch=[collections.Counter() for _ in batches])
    together: list[tuple[int, Columns]] = []  # consecutive parts coded alike
    for batch, parts in enumerate(batches):
        for part in parts:
            if isinstance(part, Columns):
                if together and not _coded_alike(together[0][1], part):
                    _add_columns(out, together)
                    together = []
                together.append((batch, part))
                continue
            if together:
                _add_columns(out, together)
                together = []
            _add_fields(out, batch, part)
    if together:
        _add_columns(out, together)
    return out


def _coded_alike(a: Columns, b: Columns) -> bool:
    return (
        a.instruments.interned is b.instruments.interned
        and a.horizons.interned is b.horizons.interned
        and a.announcement_ids.interned is b.announcement_ids.interned
    )


def _add_fields(out: Tally, batch: int, rows: Iterable[Fields]) -> None:
    for instrument, horizon, final, return_pct, z_score, announcement_id in rows:
        out.emitted[(instrument, horizon, FINAL_LABEL[final])] += 1
        out.by_batch[batch][instrument] += 1
        out.latest_return[(instrument, horizon)] = return_pct
        if z_score is None:
            out.latest_z.pop((instrument, horizon), None)
        else:
            out.latest_z[(instrument, horizon)] = z_score
        out.first_batch.setdefault(announcement_id, batch)


def _add_columns(out: Tally, parts: list[tuple[int, Columns]]) -> None:
    """Series are numbered instrument code × horizons + horizon code, and (batch, instrument)
    pairs batch × instruments + instrument code: few (codes of instruments and horizons, not
    of announcements), so they are counted by `bincount`."""
    first = parts[0][1]
    instruments, horizons = first.instruments.interned, first.horizons.interned
    width = len(horizons)
    size = len(instruments) * width
    columns = [p for _, p in parts]
    instrument = joined([p.instruments.codes for p in columns])
    series = instrument * width + joined([p.horizons.codes for p in columns])
    counts = np.bincount(series * 2 + joined([p.final for p in columns]), minlength=2 * size)
    labelled = np.flatnonzero(counts)
    keys = zip(
        *_names(labelled // 2, instruments, horizons),
        map(FINAL_LABEL.__getitem__, (labelled % 2).tolist()),
        strict=True,
    )
    out.emitted.update(dict(zip(keys, counts[labelled].tolist(), strict=True)))

    batch_of = parts[0][0]  # batches numbered from the first one here
    batch = np.repeat([b - batch_of for b, _ in parts], [len(p) for p in columns])
    per_pair = np.bincount(batch * len(instruments) + instrument)
    pairs = np.flatnonzero(per_pair)
    in_batch, code = np.divmod(pairs, len(instruments))
    for b, c, count in zip(in_batch.tolist(), code.tolist(), per_pair[pairs].tolist(), strict=True):
        out.by_batch[batch_of + b][instruments.texts[c]] += count

    last = np.full(size, -1, dtype=np.int64)
    np.maximum.at(last, series, np.arange(len(series)))
    codes = np.flatnonzero(last >= 0)
    names = list(zip(*_names(codes, instruments, horizons), strict=True))
    # read where they are, not joined: a value of a few dozen series out of every revision
    starts = np.cumsum([0, *map(len, columns)])
    at = last[codes]
    in_part = np.searchsorted(starts, at, side="right") - 1
    for name, p, row in zip(names, in_part.tolist(), (at - starts[in_part]).tolist(), strict=True):
        column = columns[p]
        out.latest_return[name] = float(column.return_pct[row])
        z_score = float(column.z_score[row])
        if math.isnan(z_score):  # too little history
            out.latest_z.pop(name, None)
        else:
            out.latest_z[name] = z_score

    announcements = first.announcement_ids.interned.texts
    span = parts[-1][0] - batch_of + 1  # batches with none of these parts between included
    first_batch = np.full(len(announcements), span, dtype=np.int64)
    np.minimum.at(first_batch, joined([p.announcement_ids.codes for p in columns]), batch)
    seen = np.flatnonzero(first_batch < span)
    for c, b in zip(seen.tolist(), first_batch[seen].tolist(), strict=True):
        out.first_batch.setdefault(announcements[c], batch_of + b)


def _names(
    series: npt.NDArray[np.int64], instruments: Interned, horizons: Interned
) -> tuple[Iterator[str], Iterator[str]]:
    width = len(horizons)
    return (
        map(instruments.texts.__getitem__, (series // width).tolist()),
        map(horizons.texts.__getitem__, (series % width).tolist()),
    )
