"""Random tick streams, shuffled within the lateness bound and with duplicates, agree with
the reference implementation on every final reaction, and every revision follows the policy."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.engine import EngineConfig, ManualClock, ReactionEngine, get_calendar
from services.events import Announcement, Signal
from services.frames import from_us, to_us
from tests.engine.helpers import kospi_only, kst, latest, utc
from tests.engine.reference import reference_finals
from tests.factories import announcement, ticks

XKRX = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))
START = to_us(kst(2025, 7, 7, 14, 0))  # Monday afternoon
SPAN_US = 3 * 86_400_000_000  # to Thursday afternoon
LATENESS_S = 900.0
CONFIG = EngineConfig(allowed_lateness_s=LATENESS_S, revision_interval_s=120)
Stream = tuple[
    list[Announcement], list[tuple[int, float]], list[list[tuple[int, float]]], list[int]
]
"""Announcements, every tick, the ticks in arrival batches, and each announcement's batch."""


def history_ticks(with_history: bool) -> list[tuple[int, float]]:
    """One tick at each of the 62 session closes before the test period (for the baseline)."""
    if not with_history:
        return []
    first = XKRX.session_by_date(date(2025, 7, 7))
    return [(XKRX.session_close_us(s), 100.0 + 3 * math.sin(s)) for s in range(first - 62, first)]


@st.composite
def streams(draw: st.DrawFn) -> Stream:
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 300))
    # ticks on whole seconds, many of them inside sessions, some at exact opens and closes
    times: list[int] = []
    for _ in range(n):
        if rng.random() < 0.1:
            s = XKRX.session_of_close(START) + rng.randint(0, 3)
            times.append(rng.choice([XKRX.session_open_us(s), XKRX.session_close_us(s)]))
        else:
            times.append(START + rng.randrange(0, SPAN_US // 1_000_000) * 1_000_000)
    live = [(t, round(100 + rng.uniform(-3, 3), 2)) for t in times]
    data = history_ticks(draw(st.booleans())) + live
    # arrival order: each tick delayed by less than the lateness, plus duplicates
    delayed = [(t + rng.randrange(0, int(LATENESS_S * 1e6)), (t, p)) for t, p in data]
    delayed += [
        (t + rng.randrange(0, int(LATENESS_S * 1e6)), (t, p))
        for t, p in rng.sample(data, len(data) // 5)
    ]
    delayed.sort(key=lambda x: x[0])
    arrivals = [tp for _, tp in delayed]
    batches: list[list[tuple[int, float]]] = []
    i = 0
    while i < len(arrivals):
        k = rng.randint(1, 60)
        batches.append(arrivals[i : i + k])
        i += k
    n_ann = draw(st.integers(1, 4))
    anns = [
        announcement(
            f"a{j}",
            from_us(START + rng.randrange(0, SPAN_US // 1_000_000) * 1_000_000),
            precision=rng.choice(["minute", "minute", "day"]),
        )
        for j in range(n_ann)
    ]
    # announcements arrive before, between or after the batches (late announcements)
    positions = [rng.randint(0, len(batches)) for _ in anns]
    return anns, data, batches, positions


def _run_engine(
    anns: list[Announcement], batches: list[list[tuple[int, float]]], positions: list[int]
) -> dict[tuple[str, str], Signal]:
    engine = ReactionEngine(kospi_only(), CONFIG, ManualClock(utc(2026, 1, 1)))
    out: list[Signal] = []
    for b, batch in enumerate([*batches, []]):
        out += engine.add_announcements([a for a, p in zip(anns, positions, strict=True) if p == b])
        if batch:
            out += engine.add_prices(ticks("KOSPI", [(from_us(t), p) for t, p in batch]))
    out += engine.finish()
    return {(k[0], k[2]): s for k, s in latest(out).items() if s.final}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_engine_agrees_with_reference(stream: Stream) -> None:
    anns, data, batches, positions = stream
    got = _run_engine(anns, batches, positions)
    want = reference_finals(anns, data, XKRX, CONFIG)
    assert set(got) == set(want)
    for key, fields in want.items():
        signal = got[key]
        for name, value in fields.items():
            mine = getattr(signal, name)
            if name.endswith("_at"):
                mine = to_us(mine)
            assert _same(mine, value), (key, name, mine, value)


def _run_tagged(stream: Stream) -> dict[tuple[str, str], list[tuple[int, Signal]]]:
    """Each reaction's revisions in order, with the watermark at which each was sent."""
    anns, _, batches, positions = stream
    engine = ReactionEngine(kospi_only(), CONFIG, ManualClock(utc(2026, 1, 1)))
    out: dict[tuple[str, str], list[tuple[int, Signal]]] = {}

    def tag(signals: Sequence[Signal]) -> None:
        watermark = engine.watermark("KOSPI") or 0
        for sig in signals:
            out.setdefault((sig.announcement_id, sig.horizon), []).append((watermark, sig))

    for b, batch in enumerate([*batches, []]):
        tag(engine.add_announcements([a for a, p in zip(anns, positions, strict=True) if p == b]))
        if batch:
            tag(engine.add_prices(ticks("KOSPI", [(from_us(t), p) for t, p in batch])))
    tag(engine.finish())
    return out


def _material(before: Signal, after: Signal) -> bool:
    step_x = CONFIG.min_extreme_step_pct - 1e-9
    step_r = CONFIG.min_return_step_pct - 1e-9
    return (
        after.max_rise_pct - before.max_rise_pct >= step_x
        or before.max_fall_pct - after.max_fall_pct >= step_x
        or abs(after.return_pct - before.return_pct) >= step_r
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_every_revision_follows_the_policy(stream: Stream) -> None:
    interval_us = int(CONFIG.revision_interval_s * 1_000_000)
    for key, revisions in _run_tagged(stream).items():
        assert [s.revision for _, s in revisions] == list(range(1, len(revisions) + 1)), key
        final_at = next((n for n, (_, s) in enumerate(revisions) if s.final), len(revisions))
        # after the final only corrections; before it only provisional revisions
        assert all(s.final and s.corrected for _, s in revisions[final_at + 1 :]), key
        assert not any(s.final or s.corrected for _, s in revisions[:final_at]), key
        for (wm_before, before), (wm, after) in itertools.pairwise(revisions[: final_at + 1]):
            if not after.final:
                assert wm - wm_before >= interval_us, (key, after.revision)
                assert _material(before, after), (key, after.revision)
