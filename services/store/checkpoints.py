"""Engine checkpoints in the store: per consumer group, topic and partition, the engine state of
that partition's instruments and the next offset it does not cover. Saved for several partitions
in one transaction, so a reader sees a partition's state and offset together or not at all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from services.frames import from_us, to_us
from services.store.schema import engine_checkpoints


@dataclass(frozen=True, slots=True)
class Checkpoint:
    partition: int
    next_offset: int
    """The first record of the partition the state does not include."""
    state: bytes
    saved_at: datetime | None = None


class CheckpointStore:
    """Over the store's engine (`SqlStore.engine`): the store's migrations create its table."""

    def __init__(
        self,
        engine: AsyncEngine,
        group_id: str,
        topic: str,
        *,
        beside_writes: Callable[[], AbstractAsyncContextManager[object]] = nullcontext,
    ) -> None:
        """`beside_writes`: what a save holds (`SqlStore.beside_writes`, so that on SQLite a
        save and the revision writes take turns instead of polling for the database lock)."""
        self._engine = engine
        self._beside_writes = beside_writes
        self._group_id = group_id
        self._topic = topic

    async def load(self, partition: int) -> Checkpoint | None:
        c = engine_checkpoints.c
        stmt = select(c.next_offset, c.state, c.saved_at_us).where(
            c.group_id == self._group_id, c.topic == self._topic, c.partition == partition
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        if row is None:
            return None
        return Checkpoint(partition, row.next_offset, bytes(row.state), from_us(row.saved_at_us))

    async def save(self, checkpoints: Sequence[Checkpoint], *, now: datetime) -> None:
        if not checkpoints:
            return
        rows = [
            {
                "group_id": self._group_id,
                "topic": self._topic,
                "partition": cp.partition,
                "next_offset": cp.next_offset,
                "state": cp.state,
                "saved_at_us": to_us(now),
            }
            for cp in checkpoints
        ]
        stmt = self._insert()
        stmt = stmt.on_conflict_do_update(
            index_elements=["group_id", "topic", "partition"],
            set_={
                "next_offset": stmt.excluded.next_offset,
                "state": stmt.excluded.state,
                "saved_at_us": stmt.excluded.saved_at_us,
            },
        )
        async with self._beside_writes(), self._engine.begin() as conn:
            await conn.execute(stmt, rows)

    def _insert(self) -> Any:
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(engine_checkpoints)
