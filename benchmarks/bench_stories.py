"""Story decisions (services/ingest/stories.py): announcements/s through `StoryBook.classify`, at
several sizes, with a third of them echoes (prints figures; never asserts on time).

    .venv/bin/python benchmarks/bench_stories.py [--sizes 1000 10000 100000] [--rounds 3]

The book remembers the stories of two to three windows (72 h each) behind the newest
announcement; the stream here publishes one announcement a minute, so from about 8,640
announcements on the book is full and forgets as it goes: the larger sizes run well past that
capacity. Random stories share issuer, action, rate, target and sector often enough that more
than a third end up echoes.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.events import Announcement
from services.ingest.stories import StoryBook, is_echo
from tests.factories import announcement

COUNTRIES = ["KR", "JP", "CN", "VN", "IN", "BR", "CA", "MX", "TH", "TW", "DE", "FR", "GB", "CH"]
ACTIONS = ["impose", "raise", "lower", "pause", "delay", "deal", "threaten"]
SECTORS = ["all", "autos", "steel", "semiconductors", "pharmaceuticals"]
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def stream(size: int, seed: int = 3) -> list[Announcement]:
    rng = random.Random(seed)
    out: list[Announcement] = []
    for i in range(size):
        if out and rng.random() < 1 / 3:  # an echo of a recent one, reworded
            first = out[rng.randrange(max(0, len(out) - 30), len(out))]
            fields = first.model_dump(exclude={"id", "published_at"}) | {
                "headline": "Breaking: " + first.headline.lower()
            }
        else:
            country, action = rng.choice(COUNTRIES), rng.choice(ACTIONS)
            rate = float(rng.choice([10, 15, 20, 25, 30, 50]))
            fields = {
                "targets": [country],
                "sectors": [rng.choice(SECTORS)],
                "action": action,
                "tariff_rate_pct": rate,
                "headline": f"US {action}s {rate:g}% tariff on goods from {country}",
            }
        out.append(announcement(f"a{i}", T0 + timedelta(minutes=i), **fields))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for size in args.sizes:
        announcements = stream(size)
        rates, echoes, remembered = [], 0, 0
        for _ in range(args.rounds):
            book = StoryBook()
            start = time.perf_counter()
            decided = [book.classify(a) for a in announcements]
            rates.append(size / (time.perf_counter() - start))
            echoes, remembered = sum(map(is_echo, decided)), len(book)
        print(
            f"{size:>8,} announcements: min {min(rates):,.0f}/s  median "
            f"{statistics.median(rates):,.0f}/s  max {max(rates):,.0f}/s ({args.rounds} rounds);"
            f" {echoes:,} echoes, {remembered:,} stories remembered at the end"
        )


if __name__ == "__main__":
    main()
