"""The revision policy as a table: what a desk subscribed to one reaction receives, and when.

A 09:00 announcement on KOSPI (base 100.0, the previous close); each row feeds batches of ticks
and states which revision of the `close` reaction each batch sends, with a 60 s interval and
steps of 0.02 pp (extremes) and 0.05 pp (return).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from services.engine import ConfigError, EngineConfig
from tests.engine.helpers import kst, make_engine
from tests.factories import announcement, ticks

Tick = tuple[datetime, float]


@dataclass(frozen=True)
class Sent:
    revision: int
    last_price: float
    final: bool = False
    corrected: bool = False


Step = tuple[list[Tick], Sent | None]
"""A batch of ticks and the `close` revision it sends (None: nothing)."""


def at(h: int, m: int, s: int = 0) -> datetime:
    return kst(2025, 7, 8, h, m, s)


RANGE: list[Tick] = [(at(9, 0), 101.0), (at(9, 0, 1), 99.0), (at(9, 0, 2), 100.5)]
"""Opens the window with max rise +1.0, max fall -1.0 and return +0.5 (pp)."""
OPENED: Step = (RANGE, Sent(1, 100.5))

POLICY = [
    # the first revision goes out as soon as the window has a base and a tick, however small
    pytest.param([([(at(9, 0), 100.01)], Sent(1, 100.01))], id="first-revision-at-once"),
    # +0.5 pp and a new high, but only 30 s of event time after revision 1: held
    pytest.param(
        [([(at(9, 0), 100.5)], Sent(1, 100.5)), ([(at(9, 0, 30), 101.0)], None)],
        id="change-inside-interval-held",
    ),
    # the held change goes out with the first batch at or after one interval (exactly 60 s)
    pytest.param(
        [
            ([(at(9, 0), 100.5)], Sent(1, 100.5)),
            ([(at(9, 0, 30), 101.0)], None),
            ([(at(9, 1, 0), 101.0)], Sent(2, 101.0)),
        ],
        id="held-change-sent-after-interval",
    ),
    # held at +0.4 pp, faded to +0.02 pp from revision 1 by the time the interval has passed
    pytest.param(
        [OPENED, ([(at(9, 0, 30), 100.9)], None), ([(at(9, 1, 30), 100.52)], None)],
        id="held-change-that-faded-dropped",
    ),
    # a new high by 0.01 pp and the return 0.04 pp away, ten minutes later: below both steps
    pytest.param(
        [OPENED, ([(at(9, 10), 101.01), (at(9, 10, 1), 100.54)], None)],
        id="wiggle-below-steps-not-sent",
    ),
    # a new high by exactly the extreme step (up to float noise), return unchanged
    pytest.param(
        [OPENED, ([(at(9, 10), 101.02), (at(9, 10, 1), 100.5)], Sent(2, 100.5))],
        id="new-high-by-step",
    ),
    pytest.param(
        [OPENED, ([(at(9, 10), 98.98), (at(9, 10, 1), 100.5)], Sent(2, 100.5))],
        id="new-low-by-step",
    ),
    # the return alone moving by its step is material
    pytest.param([OPENED, ([(at(9, 10), 100.55)], Sent(2, 100.55))], id="return-by-step"),
    # the window ends 30 s after revision 1 with no change at all: final at once
    pytest.param(
        [
            ([(at(15, 29, 30), 100.5)], Sent(1, 100.5)),
            ([(at(15, 30), 100.5)], Sent(2, 100.5, True)),
        ],
        id="final-never-held",
    ),
    # late ticks (watermark stays at the close) correct the final at once, each time it changes
    pytest.param(
        [
            ([(at(15, 29, 30), 100.5)], Sent(1, 100.5)),
            ([(at(15, 30), 100.5)], Sent(2, 100.5, True)),
            ([(at(15, 29, 40), 101.0)], Sent(3, 100.5, True, True)),
            ([(at(15, 29, 41), 101.5)], Sent(4, 100.5, True, True)),
            # inside the range seen: the final reaction does not change, nothing is sent
            ([(at(15, 29, 42), 100.7)], None),
        ],
        id="correction-never-held",
    ),
]


@pytest.mark.parametrize("steps", POLICY)
def test_revision_policy(steps: list[Step]) -> None:
    engine, _ = make_engine(
        revision_interval_s=60, min_extreme_step_pct=0.02, min_return_step_pct=0.05
    )
    engine.add_announcements([announcement("a", kst(2025, 7, 8, 9, 0))])
    engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 7, 15, 30), 100.0)]))
    for n, (batch, want) in enumerate(steps):
        sent = [
            Sent(s.revision, s.last_price, s.final, s.corrected)
            for s in engine.add_prices(ticks("KOSPI", batch))
            if s.horizon == "close"
        ]
        assert sent == ([] if want is None else [want]), f"batch {n}"


def test_interval_is_per_reaction() -> None:
    """Each horizon keeps its own clock: the 5m reaction's final does not hold `close`."""
    engine, _ = make_engine(revision_interval_s=600)
    engine.add_announcements([announcement("a", kst(2025, 7, 8, 9, 0))])
    engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 7, 15, 30), 100.0)]))
    first = engine.add_prices(ticks("KOSPI", [(at(9, 0), 100.5)]))
    assert {s.horizon for s in first} == {"5m", "30m", "2h", "close", "close+1", "close+5"}
    # 09:05 ends the 5m window: final at once; the others wait for their 10 minutes
    ended = engine.add_prices(ticks("KOSPI", [(at(9, 5), 101.0)]))
    assert [(s.horizon, s.final) for s in ended] == [("5m", True)]
    later = engine.add_prices(ticks("KOSPI", [(at(9, 10), 101.0)]))
    assert {s.horizon for s in later} == {"30m", "2h", "close", "close+1", "close+5"}
    assert all(s.revision == 2 and not s.final for s in later)


def test_policy_defaults() -> None:
    config = EngineConfig()
    assert config.revision_interval_s == 60.0
    assert config.min_extreme_step_pct == 0.02
    assert config.min_return_step_pct == 0.05


@pytest.mark.parametrize(
    "setting", ["revision_interval_s", "min_extreme_step_pct", "min_return_step_pct"]
)
def test_negative_policy_settings_are_rejected(setting: str) -> None:
    negative: dict[str, Any] = {setting: -1.0}
    with pytest.raises(ConfigError, match="must not be negative"):
        EngineConfig(**negative)
