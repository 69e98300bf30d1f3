"""A checkpoint's bytes: the engine snapshot and the partition's dedupe window, and back."""

from __future__ import annotations

import pytest

from services.engine.exceptions import SnapshotError
from services.ingest.fastprice import PriceRow
from services.ingest.recentrows import RecentRows
from services.live.checkpoints import pack, unpack

TICK: PriceRow = ("KOSPI", 1_751_932_800_000_000, 3059.47, None, None, None, None, None, None)
BAR: PriceRow = (
    "005380.KS", 1_751_846_400_000_000, None, 210000.0, 212000.0, 208000.0, 211000.0, "1d", 1e6,
)  # fmt: skip


def test_the_snapshot_and_dedupe_window_come_back_as_they_went() -> None:
    state = b"\x00engine snapshot\xff" * 100
    restored, recent = unpack(pack(state, (TICK, BAR)))
    assert restored == state
    assert recent == [TICK, BAR]  # same identities, same order: duplicates of them are dropped
    assert unpack(pack(b"", ())) == (b"", [])


def test_the_price_window_is_saved_from_its_columns_as_from_its_rows() -> None:
    other_bar: PriceRow = (*BAR[:2], 1.0, *BAR[3:])
    window = RecentRows(10)
    window.add_all((TICK, BAR, TICK, other_bar), (0, 1, 0, 0))  # the second TICK repeats
    share = window.tagged(0)  # partition 0's identities as columns, oldest first
    rows = [TICK, other_bar]
    assert unpack(pack(b"state", share)) == (b"state", rows)


@pytest.mark.parametrize(
    "blob",
    [
        b"",  # nothing at all
        b"damaged",  # shorter than the header
        b"XXXX" + b"\x00" * 8 + b"state",  # another magic: an older format
        pack(b"state", (TICK,))[:-20],  # the window cut short
        pack(b"state", (TICK,))[:14],  # the snapshot cut short (its length says more)
    ],
)
def test_anything_else_is_not_a_checkpoint(blob: bytes) -> None:
    with pytest.raises(SnapshotError):
        unpack(blob)


def test_a_window_of_ticks_takes_a_few_bytes_per_tick() -> None:
    ticks = [
        ("KOSPI", 1_751_932_800_000_000 + i * 1_000_000, 3000.0 + (i % 500) / 10, *(None,) * 6)
        for i in range(100_000)
    ]
    blob = pack(b"", ticks)
    assert len(blob) < 8 * len(ticks), len(blob)
    assert unpack(blob)[1] == ticks
