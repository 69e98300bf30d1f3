"""A small store content whose statistics can be checked by hand."""

from __future__ import annotations

from datetime import timedelta

from services.frames import prices_frame
from services.store import StoreBatch
from services.store.types import ReactionWriter
from tests.factories import T0, announcement, bar, signal

ANNOUNCEMENTS = [
    announcement("a1", day=0, targets=("KR",), sectors=("autos",), action="impose"),
    announcement("a2", day=1, targets=("KR", "JP"), action="raise"),
    announcement("a3", day=2, targets=("JP",), sectors=("steel",), action="impose"),
]
SIGNALS = [
    signal("a1", "KOSPI", "close", 1, day=0, return_pct=0.5, z_score=1.0),
    signal("a1", "KOSPI", "close", 2, day=0, final=True, return_pct=1.0, z_score=2.5),
    signal("a1", "005380.KS", "close", 1, day=0, final=True, return_pct=-2.0, z_score=-3.0),
    signal("a2", "KOSPI", "close", 1, day=1, final=True, return_pct=3.0, z_score=1.0),
    signal("a2", "NIKKEI", "close", 1, day=1, final=True, return_pct=-1.0, z_score=None),
    signal("a3", "NIKKEI", "close", 1, day=2, final=True, return_pct=0.5, z_score=0.3),
    signal("a3", "NIKKEI", "5m", 1, day=2, return_pct=0.2, z_score=0.1, confounders=["a2"]),
]
# twelve 1-minute bars from T0: open = minute, high = minute + 1, low = minute - 0.5
BARS = [
    bar("KOSPI", T0 + timedelta(minutes=m), 100.0 + m, 101.0 + m, 99.5 + m, 100.5 + m)
    for m in range(12)
]


async def seed(store: ReactionWriter) -> None:
    await store.write_batch(
        StoreBatch(announcements=ANNOUNCEMENTS, prices=prices_frame(BARS), signals=SIGNALS)
    )
