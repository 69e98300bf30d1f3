"""`ReactionEngine.instrument_status()`: explicit values for the metrics the live wiring reads."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.engine import InstrumentStatus
from services.frames import to_us
from tests.engine.helpers import korea_registry, kospi_only, kst, make_engine
from tests.factories import announcement, ticks


def test_status_before_and_after_data() -> None:
    engine, clock = make_engine(korea_registry(), allowed_lateness_s=600)
    empty = [
        InstrumentStatus(s, None, None, market_open=False, open_windows=0, late_dropped=0)
        for s in ("KOSPI", "USDKRW", "005380.KS")
    ]
    assert engine.instrument_status() == empty
    # a broad announcement: six windows on KOSPI and USDKRW, none on the autos stock
    engine.add_announcements([announcement("a", kst(2025, 7, 8, 9, 0))])
    assert [s.open_windows for s in engine.instrument_status()] == [6, 6, 0]

    clock.advance(5)
    engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 8, 10, 0), 101.0)]))
    clock.advance(2)
    # 09:55 is late but within 10 minutes (kept); 09:45 is 15 minutes late (dropped)
    engine.add_prices(
        ticks("KOSPI", [(kst(2025, 7, 8, 9, 55), 100.5), (kst(2025, 7, 8, 9, 45), 100.2)])
    )
    clock.advance(3)
    # Saturday 03:00 in Seoul: the currency trades, KOSPI's calendar would be closed
    engine.add_prices(ticks("USDKRW", [(kst(2025, 7, 12, 3, 0), 1370.0)]))
    kospi, usdkrw, stock = engine.instrument_status()
    assert kospi == InstrumentStatus(
        "KOSPI",
        watermark_us=to_us(kst(2025, 7, 8, 10, 0)),
        last_arrival_s=7.0,  # the batch with the late ticks counts as an arrival
        market_open=True,
        open_windows=6,
        late_dropped=1,
    )
    assert usdkrw == InstrumentStatus(
        "USDKRW", to_us(kst(2025, 7, 12, 3, 0)), 10.0, market_open=True, open_windows=6,
        late_dropped=0,
    )  # fmt: skip
    assert stock == empty[2]
    assert engine.stats.late_dropped == 1


MARKET_OPEN = [
    # (the only tick, KOSPI's market open at that watermark?) — event time, not wall time
    pytest.param(kst(2025, 7, 8, 9, 0), True, id="exactly-at-open"),
    pytest.param(kst(2025, 7, 8, 8, 59, 59), False, id="just-before-open"),
    pytest.param(kst(2025, 7, 8, 15, 29, 59), True, id="just-before-close"),
    pytest.param(kst(2025, 7, 8, 15, 30), False, id="exactly-at-close"),
    pytest.param(kst(2025, 7, 12, 11, 0), False, id="saturday"),
    pytest.param(kst(2025, 8, 15, 11, 0), False, id="liberation-day-holiday"),
]


@pytest.mark.parametrize(("tick", "is_open"), MARKET_OPEN)
def test_market_open_at_watermark(tick: datetime, is_open: bool) -> None:
    engine, _ = make_engine(kospi_only())
    engine.add_prices(ticks("KOSPI", [(tick, 100.0)]))
    (status,) = engine.instrument_status()
    assert status.watermark_us == to_us(tick)
    assert status.market_open is is_open
