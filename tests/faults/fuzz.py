"""Seeded fuzz records for ingest: each kind makes one record and says what ingest must do with it
(accept it, count it as a duplicate, or dead-letter it with a given reason)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
BASE = datetime(2025, 7, 8, tzinfo=UTC)
INSTRUMENTS = ("FUZZ-A", "FUZZ-B", "FUZZ-C", "FUZZ-D", "FUZZ-E")


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    """`prices` or `announcements`."""
    key: bytes | None
    value: bytes | None
    expected: str
    """ACCEPTED, DUPLICATE or the dead-letter reason."""
    kind: str


@dataclass(slots=True)
class _State:
    rng: random.Random
    index: int = 0
    prices: list[bytes] = field(default_factory=list)
    announcements: list[bytes] = field(default_factory=list)

    def ts(self) -> str:
        """A distinct, plausible time per record (so no two valid prices are the same)."""
        return (BASE + timedelta(milliseconds=self.index)).isoformat().replace("+00:00", "Z")

    def instrument(self) -> str:
        return self.rng.choice(INSTRUMENTS)


Maker = Callable[[_State], tuple[str, object]]
"""(expected, JSON value or raw bytes or None)."""


def _tick(st: _State, **extra: object) -> dict[str, object]:
    return {"instrument": st.instrument(), "ts": st.ts(), "price": st.rng.uniform(1, 5000), **extra}


def _valid_tick(st: _State) -> tuple[str, object]:
    return ACCEPTED, _tick(st)


def _valid_bar(st: _State) -> tuple[str, object]:
    low = st.rng.uniform(1, 100)
    bar = {"open": low + 1, "high": low + 3, "low": low, "close": low + 2, "interval": "1m"}
    return ACCEPTED, {"instrument": st.instrument(), "ts": st.ts(), **bar, "volume": 10.0}


def _extra_fields(st: _State) -> tuple[str, object]:
    return ACCEPTED, _tick(st, venue="KRX", nested={"a": [1, 2, {"b": None}]})


def _duplicate_price(st: _State) -> tuple[str, object]:
    if not st.prices:
        return _valid_tick(st)
    return DUPLICATE, st.rng.choice(st.prices)


def _raw(expected: str, data: bytes | None) -> Maker:
    return lambda st: (expected, data)


def _tick_with(expected: str, **fields: object) -> Maker:
    return lambda st: (expected, _tick(st, **fields))


PRICE_KINDS: dict[str, tuple[int, Maker]] = {
    # kind: (weight, maker)
    "valid tick": (40, _valid_tick),
    "valid bar": (10, _valid_bar),
    "extra fields": (5, _extra_fields),
    "duplicate": (10, _duplicate_price),
    "truncated json": (2, _raw("invalid_json", b'{"instrument":"FUZZ-A","ts":')),
    "not utf-8": (2, _raw("not_utf8", b'{"instrument":"\xff\xfe"}')),
    "array": (2, _raw("not_an_object", b"[1,2,3]")),
    "tombstone": (2, _raw("tombstone", None)),
    "nesting too deep": (1, _raw("invalid_json", b"[" * 2000 + b"]" * 2000)),
    "infinity": (
        2,
        _raw("invalid_json", b'{"instrument":"FUZZ-A","ts":"2025-07-08T00:00:00Z","price":1e400}'),
    ),
    "NaN": (
        2,
        _raw("invalid_json", b'{"instrument":"FUZZ-A","ts":"2025-07-08T00:00:00Z","price":NaN}'),
    ),
    "large junk": (1, _raw("invalid_json", b'{"x":"' + b"y" * 200_000)),
    "no instrument": (2, lambda st: ("schema", {"ts": st.ts(), "price": 1.0})),
    "price as text": (2, _tick_with("schema", price="12.5")),
    "price zero": (2, _tick_with("out_of_range", price=0.0)),
    "price negative": (2, _tick_with("out_of_range", price=-3.0)),
    "price denormal": (2, _tick_with("out_of_range", price=1e-310)),
    "price huge": (2, _tick_with("out_of_range", price=1e300)),
    "end of calendar": (2, _tick_with("out_of_range", ts="9999-12-31T23:59:59-14:00")),
    "far future": (2, _tick_with("implausible_time", ts="2031-06-01T00:00:00Z")),
    "naive time": (2, _tick_with("schema", ts="2025-07-08T00:00:00")),
    "epoch time": (2, _tick_with("schema", ts=1751904240)),
    "NUL in instrument": (2, _tick_with("schema", instrument="FUZZ\u0000A")),
    "instrument too long": (2, _tick_with("schema", instrument="F" * 41)),
    "tick and bar": (2, _tick_with("schema", close=1.0)),
    "inconsistent bar": (
        2,
        lambda st: (
            "inconsistent_bar",
            {
                "instrument": "FUZZ-A",
                "ts": st.ts(),
                "open": 5.0,
                "high": 4.0,
                "low": 1.0,
                "close": 2.0,
                "interval": "1m",
            },
        ),
    ),
}


def _announcement(st: _State, **extra: object) -> dict[str, object]:
    # target ZZ: valid, but routed to no instrument (the fuzz is about ingest, not reactions)
    return {
        "id": f"fuzz-{st.index}",
        "published_at": st.ts(),
        "targets": ["ZZ"],
        "headline": "fuzzed",
        **extra,
    }


def _duplicate_announcement(st: _State) -> tuple[str, object]:
    if not st.announcements:
        return ACCEPTED, _announcement(st)
    return DUPLICATE, st.rng.choice(st.announcements)


ANNOUNCEMENT_KINDS: dict[str, tuple[int, Maker]] = {
    "valid announcement": (6, lambda st: (ACCEPTED, _announcement(st))),
    "duplicate announcement": (2, _duplicate_announcement),
    "sector too long": (1, lambda st: ("schema", _announcement(st, sectors=["s" * 61]))),
    "year 1": (
        1,
        lambda st: ("out_of_range", _announcement(st, published_at="0001-01-01T00:00:00Z")),
    ),
    "NUL in headline": (1, lambda st: ("schema", _announcement(st, headline="a\u0000b"))),
}


def fuzz_records(count: int, *, seed: int, announcement_share: float = 0.08) -> list[Record]:
    st = _State(random.Random(seed))
    out = []
    for index in range(count):
        st.index = index
        is_announcement = st.rng.random() < announcement_share
        kinds = ANNOUNCEMENT_KINDS if is_announcement else PRICE_KINDS
        kind = st.rng.choices(list(kinds), weights=[w for w, _ in kinds.values()])[0]
        expected, data = kinds[kind][1](st)
        value = data if data is None or isinstance(data, bytes) else orjson.dumps(data)
        if expected == ACCEPTED and value is not None:
            (st.announcements if is_announcement else st.prices).append(value)
        topic = "announcements" if is_announcement else "prices"
        key = None if is_announcement else st.rng.choice(INSTRUMENTS).encode()
        out.append(Record(topic, key, value, expected, kind))
    return out
