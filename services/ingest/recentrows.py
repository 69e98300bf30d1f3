"""The dedupe window of `market.prices` held as columns: a poll's rows are judged together,
with the verdicts `RecentSet` gives adding their identities one by one.

A row's identity is its `PriceRow` (PRICE_SCHEMA's values, `ts` in µs). The window keeps the
`capacity` identities most recently added, in the order they came, each with its tag (the
partition it came on) and its sequence number (how many identities were added before it), and
a set of their row hashes. A row whose hash is neither in that set nor repeated in its poll is
new: it is judged without a Python object. The few others (true duplicates, and any hash shared
by different identities) are judged one by one, by tuple equality and sequence numbers, so a
hash decides nothing by itself."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import repeat
from typing import Any, cast

import polars as pl

from services.frames import PRICE_SCHEMA

IDENTITY_SCHEMA: dict[str, pl.DataType] = PRICE_SCHEMA | {"ts": pl.Int64()}
"""A price's identity as columns (`PriceRow`): PRICE_SCHEMA with `ts` in µs since the epoch."""
_IDENTITY = list(IDENTITY_SCHEMA)
_IDENTITY_ITEMS = list(IDENTITY_SCHEMA.items())
_WINDOW_SCHEMA = IDENTITY_SCHEMA | {"hash": pl.UInt64(), "tag": pl.Int64(), "seq": pl.Int64()}

RowHashes = Callable[[pl.DataFrame], pl.Series]
"""Identity rows to a UInt64 hash each; equal rows hash equal."""


def _hash_rows(rows: pl.DataFrame) -> pl.Series:
    return rows.hash_rows()


class RecentRows:
    """`RecentSet` of price identities, judged a frame at a time (`add_frame`)."""

    def __init__(self, capacity: int, *, hash_rows: RowHashes = _hash_rows) -> None:
        """`hash_rows` is replaceable so tests can make hashes collide."""
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._hash_rows = hash_rows
        self._window = pl.DataFrame(schema=_WINDOW_SCHEMA)
        self._added = 0
        """Identities added so far: the next one's sequence number."""
        self._hashes: set[int] = set()
        self._shared: Counter[int] = Counter()
        """Hashes held by more than one identity of the window: how many more (rarely any)."""

    def __len__(self) -> int:
        return self._window.height

    def add(self, key: Hashable, tag: int = 0) -> bool:
        """Remember `key` (a `PriceRow`); False when it was already there."""
        return self.add_all((key,), (tag,))[0]

    def add_all(self, keys: Iterable[Hashable], tags: Iterable[int]) -> list[bool]:
        """`add` of each key (a `PriceRow`) with its tag, in order."""
        rows = cast("list[tuple[Any, ...]]", list(keys))
        frame = pl.DataFrame(rows, schema=IDENTITY_SCHEMA, orient="row")
        tag_list = list(tags)
        if len(tag_list) != len(rows):
            raise ValueError("one tag per key")
        new: list[bool] = self.add_frame(frame, pl.Series(tag_list, dtype=pl.Int64)).to_list()
        return new

    def tagged(self, tag: int, *, before: int | None = None) -> pl.DataFrame:
        """The keys remembered with `tag`, oldest first, as `IDENTITY_SCHEMA` columns: a
        checkpoint stores them as they are, with no Python object per key. With `before` (a
        `mark`), only those added before it."""
        held = pl.col("tag") == tag
        if before is not None:
            held &= pl.col("seq") < before
        return self._window.filter(held).select(_IDENTITY)

    def mark(self) -> int:
        """How many identities were added so far (the next one's sequence number)."""
        return self._added

    def add_frame(self, rows: pl.DataFrame, tags: pl.Series) -> pl.Series:
        """Whether each row (`IDENTITY_SCHEMA` columns) is new, as `add` of each in order would
        say; the new ones are remembered with their tags."""
        if list(rows.schema.items()) != _IDENTITY_ITEMS:  # a poll's rows already are
            rows = rows.select(pl.col(n).cast(t) for n, t in IDENTITY_SCHEMA.items())
        hashes = self._hash_rows(rows)
        hits = self._hashes.intersection(hashes.to_list()) if self._hashes else set()
        # a hash repeated in the poll or held by the window: maybe a duplicate
        repeated = hashes.is_duplicated()
        if hits:
            repeated |= hashes.is_in(pl.Series(list(hits), dtype=pl.UInt64))
        judged = bool(repeated.any())
        new = (
            self._judge_repeats(rows, repeated, hits)
            if judged
            else pl.Series(repeat(True, rows.height), dtype=pl.Boolean)
        )
        # the n-th new row (from 0) is the identity numbered `added + n`
        seq = (new.cast(pl.Int64).cum_sum() - 1 + self._added).alias("seq")
        added = pl.DataFrame(  # whole Series, no query: a small poll's columns cost less
            [*rows.get_columns(), hashes.alias("hash"), tags.cast(pl.Int64).alias("tag"), seq]
        )
        added = added.filter(new) if judged else added
        self._added += added.height
        self._remember(added["hash"].to_list(), unique=not judged)
        window = pl.concat([self._window, added], rechunk=False)
        forgotten = max(0, window.height - self._capacity)
        self._forget(window["hash"].head(forgotten).to_list())
        self._window = window.slice(forgotten)
        if self._window.n_chunks() > 64:
            self._window = self._window.rechunk()
        return new.alias("new")

    def _judge_repeats(self, rows: pl.DataFrame, repeated: pl.Series, hits: set[int]) -> pl.Series:
        """The rows that repeat a row of the poll or share a hash with the window, judged in
        order; every other row is new. A key is still remembered at a row when fewer than
        `capacity` identities were added since its own."""
        latest: dict[tuple[Any, ...], int] = {}
        """Each identity's sequence number, as far as it matters here."""
        if hits:
            kept = self._window.filter(pl.col("hash").is_in(pl.Series(list(hits), dtype=pl.UInt64)))
            latest.update(zip(kept.select(_IDENTITY).iter_rows(), kept["seq"], strict=True))
        at = repeated.arg_true().to_list()
        new = [True] * rows.height
        duplicates = 0
        for i, row in zip(at, rows[at].iter_rows(), strict=True):
            now = self._added + i - duplicates  # identities added before row i
            seq = latest.get(row)
            if seq is not None and seq >= now - self._capacity:
                new[i] = False
                duplicates += 1
            else:
                latest[row] = now
        return pl.Series(new, dtype=pl.Boolean)

    def _remember(self, hashes: Sequence[int], *, unique: bool) -> None:
        """`unique`: the hashes are new to the window and to each other."""
        if unique:
            self._hashes.update(hashes)
            return
        for h in hashes:  # a hash shared by different identities: count its holders
            if h in self._hashes:
                self._shared[h] += 1
            else:
                self._hashes.add(h)

    def _forget(self, hashes: Sequence[int]) -> None:
        if not self._shared:
            self._hashes.difference_update(hashes)
            return
        for h in hashes:
            if self._shared[h]:
                self._shared[h] -= 1
                if not self._shared[h]:
                    del self._shared[h]
            else:
                self._hashes.discard(h)
