"""`run_replay`: files in, the latest revision of every reaction out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson
import pytest

from services.replay import ReplayError, run_replay
from tests.engine.helpers import NEW_YORK, kst


def _jsonl(path: Path, rows: list[dict[str, object]]) -> str:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return str(path)


def _iso(t: datetime) -> str:
    return t.isoformat()


ANNOUNCEMENT = {
    "id": "us-letter",
    "published_at": _iso(datetime(2025, 7, 7, 12, 0, tzinfo=NEW_YORK)),
    "targets": ["KR"],
    "sectors": ["autos"],
    "action": "impose",
    "tariff_rate_pct": 25,
    "headline": "25% on all Korean goods from 1 August",
    "extra_field": "ignored",
}
PRICES = [
    # out of order on purpose: replay sorts by observation time
    {"instrument": "KOSPI", "ts": _iso(kst(2025, 7, 8, 15, 30)), "price": 3110.0},
    {"instrument": "KOSPI", "ts": _iso(kst(2025, 7, 7, 15, 30)), "price": 3059.47},
    {"instrument": "KOSPI", "ts": _iso(kst(2025, 7, 8, 13, 41)), "price": 3059.47 * 1.018},
    {"instrument": "KOSPI", "ts": _iso(kst(2025, 7, 8, 9, 0)), "price": 3070.0},
    {
        "instrument": "005380.KS",
        "ts": _iso(kst(2025, 7, 7)),
        "open": 210000,
        "high": 212000,
        "low": 208000,
        "close": 211000,
        "interval": "1d",
    },
    {
        "instrument": "005380.KS",
        "ts": _iso(kst(2025, 7, 8)),
        "open": 211500,
        "high": 216000,
        "low": 211000,
        "close": 215000,
        "interval": "1d",
    },
]


def test_replay_writes_latest_revision_of_every_reaction(tmp_path: Path) -> None:
    out = tmp_path / "reactions.jsonl"
    n = run_replay(
        _jsonl(tmp_path / "a.jsonl", [ANNOUNCEMENT]),
        _jsonl(tmp_path / "p.jsonl", PRICES),
        str(out),
        progress=False,
    )
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert n == len(rows)
    by_key = {(r["instrument"], r["horizon"]): r for r in rows}
    kospi = by_key[("KOSPI", "close")]
    assert kospi["final"] is True
    assert kospi["cursor"] is None
    assert kospi["anchor_at"] == "2025-07-08T00:00:00Z"
    assert kospi["max_rise_pct"] == pytest.approx(1.8)
    assert kospi["signal_id"] == f"us-letter|KOSPI|close|{kospi['revision']}"
    stock = by_key[("005380.KS", "close")]
    assert stock["data_granularity"] == "1d"
    assert stock["final"] is True
    assert stock["abnormal_return_pct"] == pytest.approx(
        (215000 / 211000 - 1) * 100 - (3110.0 / 3059.47 - 1) * 100
    )
    assert ("005380.KS", "5m") not in by_key  # daily bars: no intraday horizons
    assert by_key[("KOSPI", "close+1")]["final"] is False  # the data does not reach it
    assert len(by_key) == len(rows)


def test_replay_reads_csv(tmp_path: Path) -> None:
    anns = tmp_path / "a.csv"
    anns.write_text(
        "id,published_at,targets,sectors,headline\n"
        f"x,{ANNOUNCEMENT['published_at']},KR,all,letter\n"
    )
    prices = tmp_path / "p.csv"
    prices.write_text(
        "instrument,ts,price\n"
        + "".join(f"{p['instrument']},{p['ts']},{p['price']}\n" for p in PRICES if "price" in p)
    )
    out = tmp_path / "r.jsonl"
    run_replay(str(anns), str(prices), str(out), progress=False)
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert {(r["instrument"], r["horizon"]) for r in rows} >= {("KOSPI", "close")}


@pytest.mark.parametrize(
    ("announcements", "prices", "message"),
    [
        # a missing required field names the file and line
        pytest.param([ANNOUNCEMENT, {"id": "y"}], PRICES, r"a\.jsonl:2: invalid Announcement"),
        pytest.param(
            [ANNOUNCEMENT],
            [*PRICES[:2], {"instrument": "KOSPI", "ts": "x", "price": 1}],
            r"p\.jsonl:3: invalid Price.*ts",
        ),
        pytest.param(
            [ANNOUNCEMENT],
            [{"instrument": "KOSPI", "ts": _iso(kst(2025, 7, 8)), "price": -1}],
            r"p\.jsonl:1: invalid Price",
        ),
    ],
)
def test_bad_input_names_file_and_line(
    tmp_path: Path,
    announcements: list[dict[str, object]],
    prices: list[dict[str, object]],
    message: str,
) -> None:
    with pytest.raises(ReplayError, match=message):
        run_replay(
            _jsonl(tmp_path / "a.jsonl", announcements),
            _jsonl(tmp_path / "p.jsonl", prices),
            str(tmp_path / "out.jsonl"),
            progress=False,
        )


def test_missing_file_and_store_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match=r"nope\.jsonl"):
        run_replay(str(tmp_path / "nope.jsonl"), "x", str(tmp_path / "o"), progress=False)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ReplayError, match="cannot open the store 'nosuchdb://x'"):
        run_replay(str(empty), str(empty), str(tmp_path / "o"), store="nosuchdb://x")


def test_replay_accepts_the_nesting_the_live_path_accepts(tmp_path: Path) -> None:
    # deep in an unknown field: ignored live (orjson parses 1,024 levels), so ignored here too
    nested = b',"extra":' + b"[" * 600 + b"]" * 600 + b"}"
    prices = tmp_path / "p.jsonl"
    prices.write_bytes(b"".join(orjson.dumps(p)[:-1] + nested + b"\n" for p in PRICES))
    out = tmp_path / "out.jsonl"
    run_replay(_jsonl(tmp_path / "a.jsonl", [ANNOUNCEMENT]), str(prices), str(out), progress=False)
    assert out.read_bytes().strip()


def test_replay_names_a_line_that_is_not_json(tmp_path: Path) -> None:
    prices = tmp_path / "p.jsonl"
    prices.write_bytes(orjson.dumps(PRICES[0]) + b"\n{not json\n")
    with pytest.raises(ReplayError, match=r"p\.jsonl:2: invalid JSON"):
        run_replay(
            _jsonl(tmp_path / "a.jsonl", [ANNOUNCEMENT]),
            str(prices),
            str(tmp_path / "out.jsonl"),
            progress=False,
        )


def test_an_announcement_goes_in_before_the_ticks_of_its_instant(tmp_path: Path) -> None:
    """A window ending at the instant another announcement is published holds it as a
    confounder; the tick of that same instant must not finalise the window first, or its final
    would be a correction here while a live engine that read the announcement first sends it
    right the first time."""
    first = ANNOUNCEMENT | {"id": "first", "published_at": _iso(kst(2025, 7, 8, 10, 0))}
    second = ANNOUNCEMENT | {
        "id": "second",
        "published_at": _iso(kst(2025, 7, 8, 10, 5)),
        "sectors": ["steel"],
        "tariff_rate_pct": 50,
        "headline": "50% on Korean steel",  # another story, not an echo of the first
    }
    prices = [
        {"instrument": "KOSPI", "ts": _iso(kst(2025, 7, 8, 9, 59)), "price": 3000.0},
        {"instrument": "KOSPI", "ts": _iso(kst(2025, 7, 8, 10, 2)), "price": 3010.0},
        # the end of the first 5m window, the instant the second announcement is published
        {"instrument": "KOSPI", "ts": _iso(kst(2025, 7, 8, 10, 5)), "price": 3020.0},
        {"instrument": "KOSPI", "ts": _iso(kst(2025, 7, 8, 10, 6)), "price": 3030.0},
    ]
    out = tmp_path / "reactions.jsonl"
    run_replay(
        _jsonl(tmp_path / "a.jsonl", [second, first]),
        _jsonl(tmp_path / "p.jsonl", prices),
        str(out),
        progress=False,
    )
    rows = {
        (r["announcement_id"], r["instrument"], r["horizon"]): r
        for r in map(orjson.loads, out.read_bytes().splitlines())
    }
    five = rows[("first", "KOSPI", "5m")]
    assert five["final"] is True
    assert five["confounders"] == ["second"]
    assert five["corrected"] is False
    assert five["return_pct"] == pytest.approx((3020.0 / 3000.0 - 1) * 100)
