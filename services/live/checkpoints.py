"""Engine checkpoints: an engine replica's state per owned partition of `market.prices`, with the
offset it covers, saved to the store every `checkpoint_interval_s` or `checkpoint_batches`
batches and when the partition is taken away. On assignment the checkpoint is loaded and the
partition read from its offset; without one, or with one that cannot be loaded, the partition is
read from the start of its retention as before, logged and counted.

Why the store and not a compacted Kafka topic: a checkpoint is read by key (group, partition)
at every assignment, and written for all owned partitions at once. The store reads one row by
key and writes several in one transaction; a compacted topic would have to be read to its end on
every assignment and has no multi-partition atomic write outside a Kafka transaction. The
revisions sent after a checkpoint are still restored from the store (`LivePipeline.recover`), so a
checkpoint may be older than the last batch without sending anything twice.

A checkpoint also holds the partition's dedupe window (the identities of its latest prices), so
a duplicate of a price read before a restart is still dropped after it."""

from __future__ import annotations

import asyncio
import io
import logging
import struct
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import polars as pl
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.engine import snapshot
from services.engine.clock import SystemClock
from services.engine.exceptions import SnapshotError
from services.engine.types import Clock
from services.frames import PRICE_SCHEMA
from services.ingest.fastprice import PriceRow
from services.ingest.types import PartitionPosition, Recent
from services.live.pipeline import LivePipeline
from services.settings import Settings
from services.store.checkpoints import Checkpoint, CheckpointStore
from services.store.sql import SqlStore

log = logging.getLogger(__name__)

OUTCOMES = ("restored", "missing", "unreadable")
_HEADER = struct.Struct(">4sQ")
"""A checkpoint's bytes: this magic and the engine snapshot's length, the snapshot, then the
dedupe window as an Arrow IPC frame."""
_MAGIC = b"MRC1"
_RECENT_SCHEMA = PRICE_SCHEMA | {"ts": pl.Int64()}
"""Price identities (`PriceRow`) as columns: a window of ticks compresses to a few bytes each."""


def pack(engine_state: bytes, recent: Recent) -> bytes:
    """A partition's checkpoint: its engine snapshot and its dedupe window (price rows, or
    their columns)."""
    if isinstance(recent, pl.DataFrame):
        frame = recent.select(pl.col(name).cast(dtype) for name, dtype in _RECENT_SCHEMA.items())
    else:
        rows = cast("Sequence[PriceRow]", recent)
        # column by column: far faster than zip(*rows) over a window of many thousand rows
        columns = {name: [row[i] for row in rows] for i, name in enumerate(_RECENT_SCHEMA)}
        frame = pl.DataFrame(columns, schema=_RECENT_SCHEMA)
    out = io.BytesIO()
    out.write(_HEADER.pack(_MAGIC, len(engine_state)))
    out.write(engine_state)
    frame.write_ipc(out, compression="zstd")
    return out.getvalue()


def unpack(blob: bytes) -> tuple[bytes, list[tuple[Any, ...]]]:
    """The engine snapshot and dedupe window of a checkpoint; SnapshotError if it is not one."""
    if len(blob) < _HEADER.size:
        raise SnapshotError(f"a checkpoint of {len(blob)} bytes is too short")
    magic, size = _HEADER.unpack_from(blob)
    start = _HEADER.size + size
    if magic != _MAGIC or start > len(blob):
        raise SnapshotError("not a checkpoint of this release")
    try:
        recent = pl.read_ipc(io.BytesIO(blob[start:])).rows()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise SnapshotError(f"unreadable dedupe window: {exc!r}") from exc
    return blob[_HEADER.size : start], recent


@dataclass(slots=True)
class CheckpointMetrics:
    restores: Counter
    saves: Counter
    save_seconds: Histogram
    size: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> CheckpointMetrics:
        metrics = cls(
            Counter(
                "mr_checkpoint_restores",
                "Partitions assigned, by what their engine state started from: restored (a "
                "checkpoint), missing or unreadable (read again from the start of retention).",
                ["outcome"],
                registry=registry,
            ),
            Counter(
                "mr_checkpoints_saved",
                "Checkpoints saved (one per partition).",
                [],
                registry=registry,
            ),
            Histogram(
                "mr_checkpoint_save_seconds",
                "Time to snapshot and store the checkpoints of every owned partition.",
                registry=registry,
            ),
            Gauge(
                "mr_checkpoint_bytes",
                "Size of the last checkpoint saved or loaded, per partition.",
                ["partition"],
                registry=registry,
            ),
        )
        for outcome in OUTCOMES:
            metrics.restores.labels(outcome)
        return metrics


class EngineCheckpoints:
    """A `PartitionCheckpoints` for the prices consumer, over the engine sink and the store."""

    def __init__(
        self,
        sink: LivePipeline,
        store: CheckpointStore,
        metrics: CheckpointMetrics,
        clock: Clock,
        *,
        interval_s: float,
        batches: int,
    ) -> None:
        self._sink = sink
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._interval_s = interval_s
        self._batches = batches
        self._last_s = clock.monotonic_s()
        self._since = 0
        self._storing: asyncio.Task[None] | None = None
        """A save whose engine state is taken, being packed and stored in the background."""

    def due(self) -> bool:
        """Counts a batch; true when a checkpoint is due after it."""
        self._since += 1
        elapsed = self._clock.monotonic_s() - self._last_s
        return self._since >= self._batches or elapsed >= self._interval_s

    async def restore(self, topic: str, partition: int) -> PartitionPosition | None:
        """Load the partition's checkpoint into the engine: where to read from and the
        instruments it holds, or None to read from the start."""
        try:
            checkpoint = await self._store.load(partition)
        except Exception:
            log.exception("%s[%d]: checkpoint not readable from the store", topic, partition)
            checkpoint = None
            outcome = "unreadable"
        else:
            outcome = "missing"
        if checkpoint is not None:
            try:
                state, recent = await asyncio.to_thread(unpack, checkpoint.state)
                symbols = await self._sink.load_snapshot(state)
            except SnapshotError as exc:
                log.warning("%s[%d]: checkpoint not loaded: %s", topic, partition, exc)
                outcome = "unreadable"
            else:
                self._metrics.restores.labels("restored").inc()
                self._metrics.size.labels(str(partition)).set(len(checkpoint.state))
                log.info(
                    "%s[%d]: restored from checkpoint at offset %d (%d instruments, %d prices "
                    "in the dedupe window, saved %s)",
                    topic,
                    partition,
                    checkpoint.next_offset,
                    len(symbols),
                    len(recent),
                    checkpoint.saved_at.isoformat() if checkpoint.saved_at else "?",
                )
                return PartitionPosition(checkpoint.next_offset, frozenset(symbols), tuple(recent))
        self._metrics.restores.labels(outcome).inc()
        log.info("%s[%d]: %s checkpoint, re-reading from the start", topic, partition, outcome)
        return None

    async def save(self, positions: dict[int, PartitionPosition], *, wait: bool = True) -> None:
        """One checkpoint per partition, with the instruments seen on it, in one transaction.
        The engine's state is taken before returning, so it is the state `positions` describe
        whatever batch comes next. With `wait=False` it is then packed and stored in the
        background (a failure is logged), so the next batches are not held back by it; any
        later save first waits for that one, so checkpoints are stored in the order taken."""
        await self.flush()
        self._since = 0
        self._last_s = self._clock.monotonic_s()
        if not positions:
            return
        started_s = self._clock.monotonic_s()
        taken = await self._sink.snapshots([pos.keys for pos in positions.values()])
        storing = self._pack_and_store(positions, taken, started_s)
        if wait:
            await storing
        else:
            self._storing = asyncio.create_task(self._logging_failure(storing), name="checkpoint")

    async def flush(self) -> None:
        """Wait for the save being stored in the background, if any."""
        storing, self._storing = self._storing, None
        if storing is not None:
            await storing

    async def _pack_and_store(
        self, positions: dict[int, PartitionPosition], taken: snapshot.Taken, started_s: float
    ) -> None:
        def pack_all() -> list[Checkpoint]:
            states = snapshot.finished(taken)
            return [
                Checkpoint(p, pos.next_offset, pack(state, pos.recent))
                for (p, pos), state in zip(positions.items(), states, strict=True)
            ]

        checkpoints = await asyncio.to_thread(pack_all)
        await self._store.save(checkpoints, now=self._clock.now())
        self._metrics.save_seconds.observe(self._clock.monotonic_s() - started_s)
        for cp in checkpoints:
            self._metrics.size.labels(str(cp.partition)).set(len(cp.state))
        self._metrics.saves.inc(len(checkpoints))

    @staticmethod
    async def _logging_failure(storing: Awaitable[None]) -> None:
        try:
            await storing
        except Exception:
            log.exception("checkpoints not saved")


def engine_checkpoints(
    settings: Settings, sink: LivePipeline, store: SqlStore, registry: CollectorRegistry
) -> EngineCheckpoints:
    """The checkpoints of an engine replica's `market.prices` partitions, in `store`, per
    consumer group."""
    return EngineCheckpoints(
        sink,
        CheckpointStore(
            store.engine,
            settings.group_id,
            settings.prices_topic,
            beside_writes=store.beside_writes,
        ),
        CheckpointMetrics.create(registry),
        SystemClock(),
        interval_s=settings.checkpoint_interval_s,
        batches=settings.checkpoint_batches,
    )
