"""Signals built on the hot path without validation are exactly what validation would build."""

from __future__ import annotations

import copy
import pickle
from datetime import date

import pytest
from pydantic import ValidationError

from services.engine import get_calendar
from services.events import Signal
from services.frames import from_us
from tests.engine.helpers import korea_registry, kst, make_engine
from tests.factories import announcement, daily_bars, ticks

XKRX = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))


def emitted() -> list[Signal]:
    """Every kind of field: baseline and z (KOSPI), benchmark, gap, nulls, confounders and a
    corrected final."""
    engine, _ = make_engine(korea_registry())
    first = XKRX.session_by_date(date(2025, 7, 8))
    days = [
        from_us(XKRX.session_open_us(s)).astimezone(kst(2025, 1, 1).tzinfo)
        for s in range(first - 61, first)
    ]
    out: list[Signal] = [
        *engine.add_prices(daily_bars("KOSPI", [(d, 100.0 + i % 5) for i, d in enumerate(days)]))
    ]
    out += engine.add_announcements(
        [
            announcement("autos", kst(2025, 7, 7, 20, 0), sectors=["autos"]),
            announcement("intraday", kst(2025, 7, 8, 10, 0)),
        ]
    )
    for sym, base, close in (("KOSPI", 100.0, 101.0), ("005380.KS", 200.0, 206.0)):
        out += engine.add_prices(
            ticks(sym, [(kst(2025, 7, 7, 15, 30), base), (kst(2025, 7, 8, 9, 0), base * 1.01)])
        )
        out += engine.add_prices(ticks(sym, [(kst(2025, 7, 8, 15, 30), close)]))
    out += engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 8, 15, 25), 103.0)]))  # late: corrects
    return out + engine.finish()


SIGNALS = emitted()


def test_the_scenario_covers_every_kind_of_field() -> None:
    assert any(s.z_score is not None for s in SIGNALS)
    assert any(s.abnormal_return_pct is not None and s.instrument == "005380.KS" for s in SIGNALS)
    assert any(s.gap_pct is not None for s in SIGNALS)
    assert any(s.gap_pct is None for s in SIGNALS)
    assert any(s.confounders for s in SIGNALS)
    assert any(s.corrected for s in SIGNALS)


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.signal_id)
def test_equals_the_validated_signal(signal: Signal) -> None:
    validated = Signal.model_validate(signal.model_dump())
    assert signal == validated
    assert signal.model_fields_set == set(Signal.model_fields)
    assert signal.model_dump(mode="json") == validated.model_dump(mode="json")
    assert Signal.model_validate_json(signal.model_dump_json()) == signal


def test_behaves_like_any_signal() -> None:
    signal = SIGNALS[0]
    assert pickle.loads(pickle.dumps(signal)) == signal
    assert copy.deepcopy(signal) == signal
    stored = signal.model_copy(update={"cursor": 7})
    assert (stored.cursor, signal.cursor) == (7, None)
    with pytest.raises(ValidationError, match="frozen"):
        signal.revision = 99  # type: ignore[misc]  # mypy refuses it too: checked at run time
