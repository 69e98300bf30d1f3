"""The texts that name a revision's window, written once per window, not once per revision:
its signal id before the revision number (`announcement|instrument|horizon|`) and the fields
from `cursor` to the key of `revision`. A batch's revisions find their windows' texts by one
sorted search over the windows' codes (their names' codes in the engine's `Interned`s)."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from services.engine.names import Coded, Interned, codes_of

I64 = npt.NDArray[np.int64]
T = TypeVar("T")
Pieces = list[T | str]
_BITS = 21
"""Bits of a window's key for each name's code (up to two million of each)."""
LIMIT = 1 << 13
"""Windows whose texts are kept: past this many (some announcements on 500 instruments), all
are forgotten and the writer joins the names' texts per revision again, as it does for a first
batch of more windows (texts of more windows than the processor's caches hold are slower to
read back than the names are to join, and making them costs more than it saves)."""


def identity_pieces(announcement: T, instrument: T, horizon: T) -> tuple[Pieces[T], Pieces[T]]:
    """A revision's identity around its revision number, of its names (escaped texts, or
    expressions of them): its signal id before the number (`announcement|instrument|horizon|`)
    and the fields from `cursor` to the key of `revision`, as signal.v1 orders them."""
    prefix: Pieces[T] = [announcement, "|", instrument, "|", horizon, "|"]
    middle: Pieces[T] = [
        '","cursor":null,"announcement_id":"',
        announcement,
        '","instrument":"',
        instrument,
        '","horizon":"',
        horizon,
        '","revision":',
    ]
    return prefix, middle


class WindowTexts:
    """The texts of the windows named in three `Interned`s (announcement ids, instruments,
    horizons), made when a window first sends a revision."""

    __slots__ = ("_keys", "_middles", "_prefixes", "_rows", "full", "names")

    def __init__(self, announcement_ids: Interned, instruments: Interned, horizons: Interned):
        self.names = (announcement_ids, instruments, horizons)
        self._keys: I64 = np.empty(0, dtype=np.int64)  # sorted
        self._rows: I64 = np.empty(0, dtype=np.int64)  # each key's row in the texts
        self._prefixes = pl.Series(dtype=pl.String)
        self._middles = pl.Series(dtype=pl.String)
        self.full = False

    def texts(
        self, announcement_ids: I64, instruments: I64, horizons: I64
    ) -> tuple[pl.Series, pl.Series] | None:
        """The signal id prefix and the fields from `cursor` on of each revision's window;
        None once the windows are too many to keep (`full`)."""
        keys = (announcement_ids << 2 * _BITS) | (instruments << _BITS) | horizons
        rows = self._find(keys)
        if rows is None:
            new = np.unique(keys[~np.isin(keys, self._keys)])
            if len(self._keys) + len(new) > LIMIT:
                self.__init__(*self.names)  # type: ignore[misc]
                self.full = True
                return None
            self._add(new)
            rows = self._find(keys)
            assert rows is not None
        return self._prefixes[rows], self._middles[rows]

    def _find(self, keys: I64) -> I64 | None:
        if not len(self._keys):
            return None
        at = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        if not (self._keys[at] == keys).all():
            return None
        rows: I64 = self._rows[at]
        return rows

    def _add(self, keys: I64) -> None:
        mask = (1 << _BITS) - 1
        escaped = [interned.escaped_texts() for interned in self.names]
        names = zip(
            *(
                [texts[code] for code in codes.tolist()]
                for texts, codes in zip(
                    escaped, (keys >> 2 * _BITS, (keys >> _BITS) & mask, keys & mask), strict=True
                )
            ),
            strict=True,
        )
        prefixes, middles = [], []
        for announcement, instrument, horizon in names:
            prefix, middle = identity_pieces(announcement, instrument, horizon)
            prefixes.append("".join(prefix))
            middles.append("".join(middle))
        rows = np.arange(len(self._rows), len(self._rows) + len(keys), dtype=np.int64)
        all_keys = np.concatenate([self._keys, keys])
        order = np.argsort(all_keys, kind="stable")
        self._keys, self._rows = all_keys[order], np.concatenate([self._rows, rows])[order]
        for held, new in ((self._prefixes, prefixes), (self._middles, middles)):
            held.append(pl.Series(new, dtype=pl.String))
            if held.n_chunks() > 16:
                held.rechunk(in_place=True)


def window_texts(
    announcement_ids: list[Coded], instruments: list[Coded], horizons: list[Coded]
) -> tuple[pl.Series, pl.Series] | None:
    """Each revision's window texts, where every column's names are of one `Interned` (the
    engine's, which keeps its windows' texts) with codes that fit a key and the windows are not
    too many; else None."""
    names = []
    for columns in (announcement_ids, instruments, horizons):
        interned = columns[0].interned
        if any(c.interned is not interned for c in columns) or len(interned) >= 1 << _BITS:
            return None
        names.append(interned)
    kept = getattr(names[0], "windows", None)
    if not isinstance(kept, WindowTexts) or kept.names != tuple(names):
        kept = names[0].windows = WindowTexts(*names)
    if kept.full:
        return None
    return kept.texts(*(codes_of(columns) for columns in (announcement_ids, instruments, horizons)))
