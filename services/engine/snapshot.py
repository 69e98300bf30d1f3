"""The engine's state of some instruments as bytes, and back: what a checkpoint holds.

Per instrument: its compacted price history, session closes and watermark, its open windows
with what each last sent, the anchors of the announcements routed to it, its retired finals and
restored revisions not applied yet. Announcements are not in it (every replica reads all of
them). The bytes are a versioned pickle of the engine's own structures: written and read by the
same release through the service's own store, never from outside. A different format, or bytes
that do not unpickle to it, raise `SnapshotError`, and the caller rebuilds from the inputs."""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from services.engine.book import WindowKey
from services.engine.exceptions import SnapshotError
from services.engine.history import NO_TIME, PriceStore
from services.engine.rows import Rows
from services.engine.windows import WindowTable
from services.events import Signal

if TYPE_CHECKING:
    from services.engine.engine import ReactionEngine

FORMAT = 3
"""Bumped whenever a structure below changes shape: older checkpoints are then re-read."""
READABLE = (2, 3)
"""Format 2 pickled each table with columns of its own; 3 only the table's rows (the engine
keeps one table for all instruments). Both load the same."""


_NO_ROWS = Rows.empty()


@dataclass(slots=True)
class InstrumentSnapshot:
    symbol: str
    watermark_us: int
    late_dropped: int
    session_closes: dict[int, tuple[int, float]]
    history: Rows
    windows: WindowTable
    retired: list[tuple[int, int, Mapping[str, Any]]]
    retired_returns: dict[WindowKey, float]
    pending: dict[WindowKey, Signal]


@dataclass(frozen=True, slots=True)
class Taken:
    """The state of groups of instruments as taken with the engine still (`taken`): what
    `finished` turns into snapshots while the engine goes on."""

    prices: PriceStore | None
    """The instruments' prices, detached from the engine's store (None: no instrument)."""
    codes: list[list[int]]
    """Each group's instruments (those the engine knows) by code, in symbol order."""
    rest: list[bytes]
    """Each group's `InstrumentSnapshot`s pickled without their history and closes."""


def take(engine: ReactionEngine, symbols: set[str]) -> bytes:
    """The state of `symbols` (those the engine knows), compressed."""
    return finished(taken(engine, [symbols]))[0]


def taken(engine: ReactionEngine, groups: Sequence[set[str]]) -> Taken:
    """The state of each group of instruments (a partition's), what must be taken with the
    engine still: its windows and what they sent are pickled, its prices detached (cheap: the
    rows are shared). The history's compaction, the pickling of the prices and the compression
    (`finished`, nearly all the cost) may run while the engine goes on."""
    chosen = [sorted(symbols & engine._books.keys()) for symbols in groups]
    books = [[engine._books[s] for s in group] for group in chosen]
    codes = [[b.prices.code for b in group] for group in books]
    store = next((b.prices.store for group in books for b in group), None)
    everyone = np.asarray([c for group in codes for c in group], dtype=np.int64)
    rest = [
        pickle.dumps(
            [
                InstrumentSnapshot(
                    symbol=book.prices.symbol,
                    watermark_us=book.prices.watermark_us,
                    late_dropped=book.prices.late_dropped,
                    session_closes={},  # filled by `finished`
                    history=_NO_ROWS,
                    windows=book.windows,
                    retired=list(book.retired),
                    retired_returns=dict(book.retired_returns),
                    pending=dict(book.pending),
                )
                for book in group
            ],
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        for group in books
    ]
    return Taken(None if store is None else store.detached(everyone), codes, rest)


def finished(state: Taken) -> list[bytes]:
    """Each group's snapshot, as `take` returns it (and `load` reads it), from a `taken`
    state: needs the engine no more."""
    prices = state.prices
    if prices is None:
        return [compress(pickle.dumps((FORMAT, []), protocol=pickle.HIGHEST_PROTOCOL))] * len(
            state.rest
        )
    seen = [c for group in state.codes for c in group if prices.watermark_us[c] != NO_TIME]
    if seen:
        # history older than the current session as 1-minute and daily bars (as the engine
        # keeps it past `compact_rows`; no window notices): the size stays flat with retention
        prices.compact(np.asarray(seen, dtype=np.int64))
    out = []
    for group, rest in zip(state.codes, state.rest, strict=True):
        snapshots: list[InstrumentSnapshot] = pickle.loads(rest)
        for snap, code in zip(snapshots, group, strict=True):
            snap.history = prices.history(code)
            snap.session_closes = prices.closes.of(code)
        out.append(compress(pickle.dumps((FORMAT, snapshots), protocol=pickle.HIGHEST_PROTOCOL)))
    return out


def compress(state: bytes) -> bytes:
    return zlib.compress(state, 1)


def load(engine: ReactionEngine, blob: bytes) -> list[str]:
    """Replace the state of the instruments in `blob` with it; returns their symbols. Windows
    of announcements the engine knows but the snapshot predates are opened (and filled from
    the restored history)."""
    snapshots = _decode(blob)
    unknown = [s.symbol for s in snapshots if s.symbol not in engine._books]
    if unknown:
        raise SnapshotError(f"instruments not in the registry: {unknown}")
    now_s = engine._clock.monotonic_s()
    for snap in snapshots:
        book = engine._books[snap.symbol].emptied()
        prices = book.prices
        prices.restore(snap.watermark_us, snap.late_dropped, snap.session_closes, snap.history)
        # as if the data had just arrived: grace runs from now
        prices.last_arrival_s = now_s
        book.windows = book.windows.store.attach(book.windows.code, snap.windows)
        book.retired = snap.retired
        book.retired_returns = snap.retired_returns
        book.pending = snap.pending
        engine._books[snap.symbol] = book
        engine.reopen_windows(snap.symbol)
    return [s.symbol for s in snapshots]


def _decode(blob: bytes) -> list[InstrumentSnapshot]:
    try:
        version, snapshots = pickle.loads(zlib.decompress(blob))
    except Exception as exc:  # any damage: truncated, garbled, another format
        raise SnapshotError(f"unreadable snapshot: {exc!r}") from exc
    if version not in READABLE:
        raise SnapshotError(f"snapshot format {version}, this release reads {READABLE}")
    if not isinstance(snapshots, list) or not all(
        isinstance(s, InstrumentSnapshot) for s in snapshots
    ):
        raise SnapshotError("not a list of instrument snapshots")
    return snapshots
