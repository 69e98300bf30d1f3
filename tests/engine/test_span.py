"""Coarse data (DESIGN §4): over daily bars an in-session announcement's `close` spans one whole
session, so its expected move and spread are those of k = 1, not of the session's remainder."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from services.engine.rows import DAY_US, INTERVAL_US
from services.engine.span import covered_sessions
from services.replay import run_replay
from tests.engine.helpers import kospi_only, kst, sessions_before
from tests.factories import announcement, daily_bars

MINUTE_US = INTERVAL_US["1m"]


@pytest.mark.parametrize(
    ("trading_sessions", "max_interval_us", "expected"),
    [
        # ticks, anchored 2 h into a 6.5 h session: `close` covers the remaining 4.5/6.5
        (4.5 / 6.5, 0, 4.5 / 6.5),
        # 1-minute bars: still finer than the anchor, the fraction stands
        (4.5 / 6.5, MINUTE_US, 4.5 / 6.5),
        # a daily bar, the same anchor: the bar is the whole session, k = 1
        (4.5 / 6.5, DAY_US, 1.0),
        # a daily bar, `close+1` from inside a session: two whole bars, k = 2
        (1 + 4.5 / 6.5, DAY_US, 2.0),
        # a daily bar, anchored at the open: already whole, unchanged
        (1.0, DAY_US, 1.0),
        # segment sums a hair above a whole session do not round up to the next one
        (2.0 + 1e-12, DAY_US, 2.0),
        # a window just opened at the very end of a session still spans its daily bar
        (1e-6, DAY_US, 1.0),
    ],
)
def test_covered_sessions(trading_sessions: float, max_interval_us: int, expected: float) -> None:
    got = covered_sessions(
        np.asarray([trading_sessions]), np.asarray([max_interval_us], dtype=np.int64)
    )
    assert got[0] == pytest.approx(expected, abs=1e-12)


def test_replay_of_in_session_announcement_over_daily_bars_uses_one_session(
    tmp_path: Path,
) -> None:
    days = sessions_before(date(2025, 7, 8), 61)
    closes = [100.0 * (1 + 0.01 * math.sin(i)) for i in range(61)]
    frame = daily_bars(
        "KOSPI",
        [*zip(days, closes, strict=True), (kst(2025, 7, 8), 103.0), (kst(2025, 7, 9), 104.0)],
    )
    prices = tmp_path / "prices.jsonl"
    prices.write_text(
        "".join(
            json.dumps(
                {
                    "instrument": r["instrument"],
                    "ts": r["ts"].isoformat(),
                    "open": r["open"],
                    "high": r["high"],
                    "low": r["low"],
                    "close": r["close"],
                    "interval": "1d",
                }
            )
            + "\n"
            for r in frame.iter_rows(named=True)
        )
    )
    anns = tmp_path / "anns.jsonl"
    # 11:00 Seoul, inside the session: 4.5 of its 6.5 hours are left after the anchor
    anns.write_text(announcement("in-session", kst(2025, 7, 8, 11, 0)).model_dump_json() + "\n")
    out = tmp_path / "out.jsonl"
    run_replay(str(anns), str(prices), str(out), progress=False, registry=kospi_only())
    got = {r["horizon"]: r for r in map(json.loads, out.read_text().splitlines())}

    returns = [(b / a - 1) * 100 for a, b in itertools.pairwise(closes)]
    m, s = statistics.mean(returns), statistics.stdev(returns)
    close, plus1 = got["close"], got["close+1"]
    assert close["data_granularity"] == "1d"
    r = (103.0 / closes[-1] - 1) * 100
    assert close["return_pct"] == pytest.approx(r)  # the whole bar: last close to this close
    assert close["z_score"] == pytest.approx((r - m) / s)  # k = 1
    # what the old code gave: expected and spread of the 4.5/6.5 of the session left
    f = 4.5 / 6.5
    assert close["z_score"] != pytest.approx((r - f * m) / (math.sqrt(f) * s))
    assert close["abnormal_return_pct"] == pytest.approx(r - m)
    r2 = (104.0 / closes[-1] - 1) * 100
    assert plus1["z_score"] == pytest.approx((r2 - 2 * m) / (math.sqrt(2) * s))  # k = 2
