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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.engine.baselines import Baselines
from services.engine.exceptions import SnapshotError
from services.engine.history import NO_TIME, InstrumentState
from services.engine.restore import ReactionKey
from services.engine.rows import Rows
from services.engine.windows import WindowTable
from services.events import Signal

if TYPE_CHECKING:
    from services.engine.engine import ReactionEngine

FORMAT = 1
"""Bumped whenever a structure below changes shape: older checkpoints are then re-read."""


@dataclass(slots=True)
class InstrumentSnapshot:
    symbol: str
    watermark_us: int
    late_dropped: int
    session_closes: dict[int, tuple[int, float]]
    history: Rows
    table: WindowTable
    anchors: list[tuple[int, str]]
    retired: list[tuple[int, int, Signal]]
    retired_returns: dict[tuple[str, str, str], float]
    pending: dict[ReactionKey, Signal]


def take(engine: ReactionEngine, symbols: set[str]) -> bytes:
    """The state of `symbols` (those the engine knows), compressed."""
    out: list[InstrumentSnapshot] = []
    for symbol in sorted(symbols & engine._states.keys()):
        state = engine._states[symbol]
        if state.watermark_us != NO_TIME:
            # history older than the current session as 1-minute and daily bars (as the engine
            # keeps it past `compact_rows`; no window notices): the size stays flat with retention
            state.compact()
        out.append(
            InstrumentSnapshot(
                symbol=symbol,
                watermark_us=state.watermark_us,
                late_dropped=state.late_dropped,
                session_closes=dict(state.session_closes),
                history=state.history(),
                table=engine._tables[symbol],
                anchors=list(engine._anchors[symbol]),
                retired=list(engine._retired[symbol]),
                retired_returns={
                    k: v for k, v in engine._retired_returns.items() if k[0] == symbol
                },
                pending={k: v for k, v in engine._pending.items() if k[1] == symbol},
            )
        )
    return zlib.compress(pickle.dumps((FORMAT, out), protocol=pickle.HIGHEST_PROTOCOL), 1)


def load(engine: ReactionEngine, blob: bytes) -> list[str]:
    """Replace the state of the instruments in `blob` with it; returns their symbols. Windows
    of announcements the engine knows but the snapshot predates are opened (and filled from
    the restored history)."""
    snapshots = _decode(blob)
    unknown = [s.symbol for s in snapshots if s.symbol not in engine._states]
    if unknown:
        raise SnapshotError(f"instruments not in the registry: {unknown}")
    now_s = engine._clock.monotonic_s()
    for snap in snapshots:
        symbol = snap.symbol
        state = InstrumentState(symbol, engine._calendars[symbol], engine.config)
        state.watermark_us = snap.watermark_us
        state.late_dropped = snap.late_dropped
        state.session_closes = snap.session_closes
        # as if the data had just arrived: grace runs from now
        state.last_arrival_s = now_s
        if len(snap.history):
            state._chunks = [snap.history]
            state._rows = len(snap.history)
        engine._states[symbol] = state
        engine._baselines[symbol] = Baselines(state.session_closes, engine.config.baseline_sessions)
        engine._tables[symbol] = snap.table
        engine._anchors[symbol] = snap.anchors
        engine._retired[symbol] = snap.retired
        engine._retired_returns = {
            **{k: v for k, v in engine._retired_returns.items() if k[0] != symbol},
            **snap.retired_returns,
        }
        engine._pending = {
            **{k: v for k, v in engine._pending.items() if k[1] != symbol},
            **snap.pending,
        }
        inst = engine._registry.get(symbol)
        assert inst is not None
        for ann in engine._announcements.values():
            if inst in engine._registry.route(ann):
                engine._open_windows(ann, inst, [])
    return [s.symbol for s in snapshots]


def _decode(blob: bytes) -> list[InstrumentSnapshot]:
    try:
        version, snapshots = pickle.loads(zlib.decompress(blob))
    except Exception as exc:  # any damage: truncated, garbled, another format
        raise SnapshotError(f"unreadable snapshot: {exc!r}") from exc
    if version != FORMAT:
        raise SnapshotError(f"snapshot format {version}, this release reads {FORMAT}")
    if not isinstance(snapshots, list) or not all(
        isinstance(s, InstrumentSnapshot) for s in snapshots
    ):
        raise SnapshotError("not a list of instrument snapshots")
    return snapshots
