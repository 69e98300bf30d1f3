"""The peer: the reaction job as a Quix Streams user would write it (prints one JSON line).

    .venv/bin/python benchmarks/peers/quix_reactions.py --bootstrap HOST:PORT \
        --announcements TOPIC --prices TOPIC --out TOPIC --ticks N [--state-dir DIR]

Announcements are routed to the instruments they move (targets and sectors, as the default
registry routes them) and re-keyed by instrument into a topic partitioned like the prices, so
one keyed, stateful function sees an instrument's ticks and announcements together. Its state
(RocksDB, per instrument) holds the last price and the open windows; a tick closes the windows
it passes and publishes each one's final reaction. It computes what needs no trading-time
arithmetic: the intraday horizons (5m, 30m, 2h) of announcements made while the market is open
whose window ends before that session closes (USDKRW trades around the clock). No validation,
no deduplication, no store, no provisional revisions.

It stops once it has read `--ticks` prices (or after `--seconds`) and prints
`{"ticks": N, "seconds": S, "finals": F}`, S timed from its first tick read to its last.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from typing import Any

import exchange_calendars as xcals
import pandas as pd
from quixstreams import Application, State
from quixstreams.models import TopicConfig

HORIZONS_S = {"5m": 300, "30m": 1_800, "2h": 7_200}
ROUTES = {"KR": ["KOSPI", "KOSDAQ", "USDKRW"], "autos": ["005380.KS"], "steel": ["005490.KS"]}
CALENDAR = xcals.get_calendar("XKRX")
ALWAYS_OPEN = {"USDKRW"}


def _us(text: str) -> int:
    stamp = datetime.fromisoformat(text)
    return int(stamp.timestamp()) * 1_000_000 + stamp.microsecond


def route(announcement: dict[str, Any]) -> list[dict[str, Any]]:
    """One message per instrument moved and intraday horizon that can be computed."""
    anchor_us = _us(announcement["published_at"])
    moved = {
        symbol
        for group in (*announcement["targets"], *announcement["sectors"])
        for symbol in ROUTES.get(group, ())
    }
    return [
        window
        for symbol in sorted(moved)
        for window in _windows(announcement["id"], symbol, anchor_us)
    ]


def _windows(announcement_id: str, symbol: str, anchor_us: int) -> list[dict[str, Any]]:
    base_cut_us, closes_us = anchor_us, None
    if symbol not in ALWAYS_OPEN:
        minute = pd.Timestamp(anchor_us * 1_000, tz="UTC").floor("min")
        if not CALENDAR.is_open_on_minute(minute):
            return []
        session = CALENDAR.minute_to_session(minute)
        closes_us = CALENDAR.session_close(session).value // 1_000
        if anchor_us == CALENDAR.session_open(session).value // 1_000:
            base_cut_us -= 1  # anchored at the open: the base is the previous close
    return [
        {
            "kind": "window",
            "instrument": symbol,
            "announcement_id": announcement_id,
            "horizon": name,
            "base_cut_us": base_cut_us,
            "end_us": anchor_us + seconds * 1_000_000,
        }
        for name, seconds in HORIZONS_S.items()
        if closes_us is None or anchor_us + seconds * 1_000_000 <= closes_us
    ]


def react(value: dict[str, Any], state: State[str, Any]) -> list[dict[str, Any]]:
    """An instrument's tick or new window; returns the finals it completes."""
    windows: list[dict[str, Any]] = state.get("windows", [])
    if value.get("kind") == "window":
        last = state.get("last")
        base = last if last is not None and last[0] <= value["base_cut_us"] else None
        windows.append(value | {"base": base, "hi": None, "lo": None, "close": None})
        state.set("windows", windows)
        return []
    ts, price = _us(value["ts"]), value["price"]
    finals, still_open = [], []
    for w in windows:
        if ts > w["end_us"]:
            if w["base"] is not None and w["close"] is not None:
                finals.append(_final(w))
            continue
        if ts <= w["base_cut_us"]:
            w["base"] = [ts, price]
        else:
            w["hi"] = price if w["hi"] is None else max(w["hi"], price)
            w["lo"] = price if w["lo"] is None else min(w["lo"], price)
            w["close"] = price
        still_open.append(w)
    if windows:
        state.set("windows", still_open)
    state.set("last", [ts, price])
    return finals


def _final(w: dict[str, Any]) -> dict[str, Any]:
    base = w["base"][1]
    return {
        "announcement_id": w["announcement_id"],
        "instrument": w["instrument"],
        "horizon": w["horizon"],
        "final": True,
        "base_price": base,
        "last_price": w["close"],
        "return_pct": (w["close"] / base - 1) * 100,
        "max_rise_pct": (w["hi"] / base - 1) * 100,
        "max_fall_pct": (w["lo"] / base - 1) * 100,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("bootstrap", "announcements", "prices", "out"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--ticks", type=int, required=True)
    parser.add_argument("--group", default="quix-peer")
    parser.add_argument("--state-dir", default="state")
    parser.add_argument("--seconds", type=float, default=3_600, help="stop reading after this")
    args = parser.parse_args()
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state_dir,
        use_changelog_topics=False,
    )
    prices = app.topic(args.prices, value_deserializer="json", key_deserializer="str")
    routed = app.topic(
        f"{args.out}.routed",
        value_deserializer="json",
        key_deserializer="str",
        value_serializer="json",
        key_serializer="str",
        config=TopicConfig(
            num_partitions=prices.broker_config.num_partitions or 1, replication_factor=1
        ),
    )
    out = app.topic(args.out, value_serializer="json", key_serializer="str")

    announcements = app.dataframe(app.topic(args.announcements, value_deserializer="json"))
    announcements = announcements.apply(route, expand=True)
    announcements.to_topic(routed, key=lambda window: window["instrument"])

    read = {"ticks": 0, "first": 0.0, "last": 0.0, "finals": 0}

    def count(value: dict[str, Any]) -> None:
        if value.get("kind") != "window":
            now = time.perf_counter()
            read["first"] = read["first"] or now
            read["ticks"] += 1
            read["last"] = now
            if read["ticks"] >= args.ticks or now - read["first"] > args.seconds:
                app.stop()

    def counted(finals: dict[str, Any]) -> None:
        read["finals"] += 1

    sdf = app.dataframe(prices).concat(app.dataframe(routed)).update(count)
    sdf = sdf.apply(react, stateful=True, expand=True).update(counted)
    sdf.to_topic(out, key=lambda final: f"{final['announcement_id']}|{final['instrument']}")
    app.run()
    seconds = read["last"] - read["first"]
    print(json.dumps({"ticks": read["ticks"], "seconds": seconds, "finals": read["finals"]}))


if __name__ == "__main__":
    main()
