"""A synthetic, deterministic study data set: two years of XKRX daily bars for KOSPI and Hyundai
Motor (005380.KS, benchmarked to KOSPI) and a series of US tariff announcements to Korea, each
followed by a small drift. For examples, tests and benchmarks; never market data.

`python -m services.study.sample DIR` writes `announcements.jsonl` and `prices.jsonl` there.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from services.engine.calendar import get_calendar
from services.events import Announcement, Price
from services.frames import from_us

SEOUL = ZoneInfo("Asia/Seoul")
# the drift an announcement adds to KOSPI's session returns, in percent, on days 0, 1, 2
_DRIFT = {"impose": (-0.9, -0.4, -0.2), "threaten": (-0.5, -0.2, 0.0), "deal": (0.8, 0.3, 0.1)}


@dataclass(frozen=True, slots=True)
class StudySample:
    announcements: list[Announcement]
    prices: list[Price]


def study_sample(
    seed: int = 11,
    *,
    first: date = date(2023, 1, 2),
    sessions: int = 500,
    events: int = 30,
    symbols: tuple[str, ...] = ("KOSPI", "005380.KS"),
) -> StudySample:
    """`events` announcements after the first 140 sessions (room for the estimation window),
    half of them published while Seoul sleeps, half inside a session; daily bars of every
    symbol (the first is the market, the others follow it with beta 1.2 and their own noise)."""
    rng = random.Random(seed)
    cal = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))
    start = cal.session_by_date(first)
    if start < 0:
        raise ValueError(f"{first} is not an XKRX session")
    days = [
        from_us(cal.session_open_us(start + i)).astimezone(SEOUL).date() for i in range(sessions)
    ]
    chosen = sorted(rng.sample(range(140, sessions - 8), events))
    anns: list[Announcement] = []
    drift = [0.0] * sessions
    for k, i in enumerate(chosen):
        action = rng.choice(list(_DRIFT))
        day = days[i]
        if k % 2:
            # 11:00 in Seoul: inside the session, day 0 is that session
            published = datetime(day.year, day.month, day.day, 11, tzinfo=SEOUL)
        else:
            # mid-afternoon in Washington the evening before: day 0 is the next open
            prev = days[i - 1]
            published = datetime(prev.year, prev.month, prev.day, 19, tzinfo=UTC)
        anns.append(
            Announcement(
                id=f"sample-{day.isoformat()}-{action}",
                published_at=published.astimezone(UTC),
                targets=["KR"],
                sectors=["all"] if k % 3 else ["autos"],
                action=action,
                headline=f"US {action} tariffs on Korean goods ({day.isoformat()})",
            )
        )
        for j, d in enumerate(_DRIFT[action]):
            drift[i + j] += d
    market = [rng.gauss(0.03, 1.0) + drift[i] for i in range(sessions)]
    prices: list[Price] = []
    for n, symbol in enumerate(symbols):
        level = 2500.0 if n == 0 else 180_000.0
        for i, day in enumerate(days):
            r = market[i] if n == 0 else 0.02 + 1.2 * market[i] + rng.gauss(0.0, 1.2)
            level *= 1.0 + r / 100.0
            close = round(level, 2)
            prices.append(
                Price(
                    instrument=symbol,
                    ts=datetime(day.year, day.month, day.day, tzinfo=SEOUL),
                    open=close,
                    high=close,
                    low=close,
                    close=close,
                    interval="1d",
                )
            )
    return StudySample(anns, prices)


def write_sample(directory: Path, sample: StudySample | None = None) -> tuple[Path, Path]:
    sample = sample or study_sample()
    directory.mkdir(parents=True, exist_ok=True)
    anns, prices = directory / "announcements.jsonl", directory / "prices.jsonl"
    anns.write_text("".join(a.model_dump_json() + "\n" for a in sample.announcements))
    prices.write_text("".join(p.model_dump_json(exclude_none=True) + "\n" for p in sample.prices))
    return anns, prices


if __name__ == "__main__":
    for path in write_sample(Path(sys.argv[1] if len(sys.argv) > 1 else "study-sample")):
        print(f"wrote {path}")
