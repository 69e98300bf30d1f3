"""The engine alone over one session's ticks, on a grid of instruments x announcements: ticks/s,
revisions/s (each revision encoded to its JSON contract bytes) and revisions per tick, as
min / median / max over the rounds (prints figures; never asserts on time).

    .venv/bin/python benchmarks/bench_engine_grid.py [--ticks 100000] [--rounds 3]
        [--grid 5x1,500x1,5x1000,500x50]

Every instrument is a broad Korean one, so each announcement opens its 6 horizons on all of
them; announcements are spread evenly over the session and the ticks of all instruments over
the same session (plus the previous close, which gives every window its base), fed in time
order in batches of 2,000. Where revisions are few the engine's cost is its windows' upkeep;
where the policy sends several per tick it is building and encoding them.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spread import spread

from services.engine import ManualClock, ReactionEngine, get_calendar
from services.engine.registry import Instrument, InstrumentRegistry
from services.events import Announcement, signal_value
from services.frames import PRICE_SCHEMA, from_us

BATCH = 2_000
SESSION = date(2025, 7, 7)


def registry(n_instruments: int) -> InstrumentRegistry:
    return InstrumentRegistry([Instrument(f"I{i:04d}", "KR", "XKRX") for i in range(n_instruments)])


def session_ticks(symbols: list[str], n_ticks: int, seed: int = 7) -> pl.DataFrame:
    """`n_ticks` over the session (one at the previous close first), in time order."""
    cal = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))
    s = cal.session_by_date(SESSION)
    per_symbol = max(2, n_ticks // len(symbols))
    opened, closed = cal.session_open_us(s), cal.session_close_us(s)
    ts = np.concatenate(
        [[cal.session_close_us(s - 1)], np.linspace(opened, closed, per_symbol - 1)]
    ).astype(np.int64)
    rng = np.random.default_rng(seed)
    frames = [
        pl.DataFrame(
            {
                "instrument": sym,
                "ts": ts,
                "price": 100.0 * np.exp(np.cumsum(rng.normal(0, 5e-4, len(ts)))),
            }
        )
        for sym in symbols
    ]
    df = pl.concat(frames).sort("ts", maintain_order=True)
    return df.select(
        pl.col("instrument"),
        pl.col("ts").cast(pl.Datetime("us", "UTC")),
        pl.col("price"),
        *[
            pl.lit(None, dtype=PRICE_SCHEMA[c]).alias(c)
            for c in ("open", "high", "low", "close", "interval", "volume")
        ],
    )


def announcements(n: int) -> list[Announcement]:
    cal = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))
    s = cal.session_by_date(SESSION)
    o, c = cal.session_open_us(s), cal.session_close_us(s)
    return [
        Announcement(
            id=f"grid-{i}",
            published_at=from_us(o + (c - o) * i // n),
            targets=["KR"],
            headline=f"grid {i}",
        )
        for i in range(n)
    ]


def one_round(
    reg: InstrumentRegistry, anns: list[Announcement], prices: pl.DataFrame
) -> tuple[float, int]:
    """Seconds for the announcements and every batch (revisions encoded), and revisions."""
    engine = ReactionEngine(reg, clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    revisions = 0
    start = time.perf_counter()
    for signal in engine.add_announcements(anns):
        signal_value(signal)
        revisions += 1
    for offset in range(0, prices.height, BATCH):
        for signal in engine.add_prices(prices.slice(offset, BATCH)):
            signal_value(signal)
            revisions += 1
    for signal in engine.finish():
        signal_value(signal)
        revisions += 1
    return time.perf_counter() - start, revisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--grid", default="5x1,500x1,5x1000,500x50")
    args = parser.parse_args()
    print(
        f"engine grid: {args.ticks:,} ticks over one session per cell, batches of {BATCH:,}, "
        f"{args.rounds} rounds, min / median / max"
    )
    for cell in args.grid.split(","):
        n_inst, n_ann = (int(x) for x in cell.split("x"))
        reg = registry(n_inst)
        prices = session_ticks([i.symbol for i in reg], args.ticks)
        anns = announcements(n_ann)
        rounds = [one_round(reg, anns, prices) for _ in range(args.rounds)]
        revisions = rounds[0][1]
        ticks_s = [prices.height / s for s, _ in rounds]
        revs_s = [r / s for s, r in rounds]
        print(
            f"{n_inst:>4} instruments x {n_ann:>5} announcements: "
            f"{spread(ticks_s)} ticks/s | {spread(revs_s)} revisions/s | "
            f"{revisions:,} revisions, {revisions / prices.height:.2f} per tick",
            flush=True,
        )


if __name__ == "__main__":
    main()
