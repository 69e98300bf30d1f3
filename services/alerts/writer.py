"""Writes delivery outcomes back to the outbox in batches: one writer for every subscription,
one transaction per batch, whatever piled up while the previous batch was being written. An
outcome not written yet when the process dies only means its alert is sent again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from prometheus_client import Histogram
from sqlalchemy.exc import SQLAlchemyError

from services.alerts.types import Outcome, StoredSubscription
from services.store.alerts import AlertStore

log = logging.getLogger(__name__)

Written = Callable[[list[Outcome], dict[str, StoredSubscription]], None]
"""Told each batch once committed, with the subscriptions it updated."""


class OutcomeWriter:
    def __init__(
        self,
        store: AlertStore,
        *,
        disable_after_dead: int,
        written: Written,
        retry_s: float,
        gather_s: float = 0.0,
        write_time: Histogram | None = None,
    ) -> None:
        """`gather_s`: how long outcomes pile up before a batch is written (fewer, larger
        transactions: less CPU per outcome and less time holding the store's write lock). It
        delays no delivery, only the record of it. `write_time` observes each transaction."""
        self._write_time = write_time
        self._store = store
        self._gather_s = gather_s
        self._disable_after_dead = disable_after_dead
        self._written = written
        self._retry_s = retry_s
        self._buffer: list[Outcome] = []
        self._ready = asyncio.Event()

    def put(self, outcome: Outcome) -> None:
        self._buffer.append(outcome)
        self._ready.set()

    async def run(self) -> None:
        """Write until cancelled; a failed write is tried again with what came since."""
        while True:
            await self._ready.wait()
            await asyncio.sleep(self._gather_s)
            self._ready.clear()
            try:
                await self.flush()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("alert outcomes not written, trying again: %r", exc)
                self._ready.set()
                await asyncio.sleep(self._retry_s)

    async def flush(self) -> None:
        """Write what is buffered, in one transaction."""
        batch, self._buffer = self._buffer, []
        if not batch:
            return
        started = time.perf_counter()
        try:
            updated = await self._store.record(batch, disable_after_dead=self._disable_after_dead)
        except BaseException:
            self._buffer[:0] = batch
            raise
        if self._write_time is not None:
            self._write_time.observe(time.perf_counter() - started)
        self._written(batch, updated)
