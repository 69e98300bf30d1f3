"""What one engine batch writes, and what the write did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from services.events import Announcement, Signal
from services.frames import PRICE_SCHEMA


@dataclass(frozen=True, slots=True)
class StoreBatch:
    """Written in one transaction. Repeating a batch (or any event in it) changes nothing."""

    announcements: Sequence[Announcement] = ()
    prices: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PRICE_SCHEMA))
    """Rows in `PRICE_SCHEMA`: ticks are merged into 1-minute bars; 1m and 1d bars are kept;
    5m and 1h bars are counted in `WriteResult.bars_skipped` (no table holds them yet)."""
    signals: Sequence[Signal] = ()
    hold_until_published: bool = False
    """Keep the new revisions in the outbox until `PublishOutbox.mark_published`."""
    released: Sequence[int] = ()
    """Cursors of revisions published since: they leave the outbox in this transaction (a
    transaction of their own, beside the next batch's, would cost as much again)."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    announcements_added: int
    bars_written: int
    """1m and 1d bar rows inserted or merged."""
    bars_skipped: int
    signals: list[Signal]
    """The revisions new to the store, in cursor order, with `cursor` filled (repeats left out)."""
