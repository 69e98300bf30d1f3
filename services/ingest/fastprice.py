"""Price records to rows a batch at a time, without a pydantic object per tick: the hot path.

Each record is decoded once (orjson); the batch's fields become columns, and a table of small
named checks runs over those columns. Each check is a sufficient condition for the `Price` model
to accept a record unchanged (a plain tick, its time in the common RFC 3339 form), so a record
passing them all becomes a row directly; any other record (a bar, an unusual time, anything
wrong) is judged by the model itself. Verdicts and reasons are thus the model's by construction,
and the model is only paid for where it has something to say. A new bound on the model (a
minimum price, a time window) is one more check here. tests/ingest/test_fastprice.py holds the
two paths equal on the contract's examples and on generated records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl

from services import limits
from services.events import Price
from services.frames import PRICE_SCHEMA, to_us
from services.ingest.decode import Rejection, decode_price

PriceRow = tuple[
    str, int, float | None, float | None, float | None, float | None, float | None,
    str | None, float | None,
]  # fmt: skip
"""A price event's values in PRICE_SCHEMA order, `ts` as µs since the epoch (a frame builds
far faster from integers than from datetimes): also its identity for deduplication."""
Columns = dict[str, list[Any]]
_ROW_SCHEMA = PRICE_SCHEMA | {"ts": pl.Int64()}
Check = Callable[[Columns], list[bool]]

_FIELDS = ("instrument", "ts", "price", "open", "high", "low", "close", "interval", "volume")
_PLAIN_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
"""A subset of the model's RFC 3339 rule that `datetime.fromisoformat` reads the same way."""
_is_plain_time = _PLAIN_TIME.fullmatch
_NO_BAR = (None, None, None, None, None)
_TICK_KEYS = frozenset(("instrument", "ts", "price"))


def _instrument(c: Columns) -> list[bool]:
    return [
        type(v) is str and 0 < len(v) <= limits.INSTRUMENT_MAX_CHARS and "\x00" not in v
        for v in c["instrument"]
    ]


def _plain_time(c: Columns) -> list[bool]:
    return [
        type(v) is str
        and _is_plain_time(v) is not None
        and limits.YEAR_MIN <= int(v[:4]) <= limits.YEAR_MAX
        for v in c["ts"]
    ]


def _price_in_range(c: Columns) -> list[bool]:
    # a JSON number; `type(True) is bool`, so booleans are not numbers here
    return [
        (type(v) is float or type(v) is int) and limits.PRICE_MIN <= v <= limits.PRICE_MAX
        for v in c["price"]
    ]


def _no_bar_field(c: Columns) -> list[bool]:
    bars = zip(c["open"], c["high"], c["low"], c["close"], c["interval"], strict=True)
    return [fields == _NO_BAR for fields in bars]


def _volume(c: Columns) -> list[bool]:
    return [
        v is None or ((type(v) is float or type(v) is int) and 0 <= v <= limits.VOLUME_MAX)
        for v in c["volume"]
    ]


CHECKS: tuple[tuple[str, Check], ...] = (
    ("instrument is a string of 1 to INSTRUMENT_MAX_CHARS characters without NUL", _instrument),
    ("ts is a plain RFC 3339 time with a zone, its year in YEAR_MIN..YEAR_MAX", _plain_time),
    ("price is a number in PRICE_MIN..PRICE_MAX", _price_in_range),
    ("no bar field is given", _no_bar_field),
    ("volume is absent or a number in 0..VOLUME_MAX", _volume),
)
"""Each a sufficient condition of the model's; a record failing one goes to the model."""


def rows_frame(rows: Sequence[PriceRow]) -> pl.DataFrame:
    """Rows as a frame in `PRICE_SCHEMA` (the frame `prices_frame` makes of their events)."""
    if not rows:
        return pl.DataFrame(schema=PRICE_SCHEMA)
    columns = zip(*rows, strict=True)
    given = {n: c for n, c in zip(PRICE_SCHEMA, columns, strict=True) if c.count(None) < len(c)}
    frame = pl.DataFrame(given, schema={n: _ROW_SCHEMA[n] for n in given})
    # a column with no value (the bar fields of ticks) is made by polars, not from a list
    absent = [pl.lit(None, dtype).alias(n) for n, dtype in PRICE_SCHEMA.items() if n not in given]
    return frame.with_columns(*absent, pl.col("ts").cast(PRICE_SCHEMA["ts"])).select(
        list(PRICE_SCHEMA)
    )


def row_of(price: Price) -> PriceRow:
    return (
        price.instrument,
        to_us(price.ts),
        price.price,
        price.open,
        price.high,
        price.low,
        price.close,
        price.interval,
        price.volume,
    )


def decode_price_rows(values: Sequence[bytes | None]) -> list[PriceRow | Rejection]:
    """`decode_price`'s verdict on each value, in order, as rows."""
    docs: list[dict[str, Any]] = []
    at: list[int] = []
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError:
            continue
        if type(data) is dict:
            docs.append(data)
            at.append(i)
    out: list[PriceRow | Rejection | None] = [None] * len(values)
    for i, row in zip(at, _plain_ticks(docs), strict=True):
        out[i] = row
    return [_by_model(values[i]) if row is None else row for i, row in enumerate(out)]


def _by_model(value: bytes | None) -> PriceRow | Rejection:
    verdict = decode_price(value)
    return verdict if isinstance(verdict, Rejection) else row_of(verdict)


def _plain_ticks(docs: list[dict[str, Any]]) -> list[PriceRow | None]:
    """A row for each document that passes every check, else None."""
    if all(d.keys() == _TICK_KEYS for d in docs):  # the usual batch: every other field absent
        columns: Columns = {name: [d[name] for d in docs] for name in _TICK_KEYS}
        columns |= {name: [None] * len(docs) for name in _FIELDS if name not in _TICK_KEYS}
    else:
        columns = {name: [d.get(name) for d in docs] for name in _FIELDS}
    passed = [all(oks) for oks in zip(*(check(columns) for _, check in CHECKS), strict=True)]
    rows: list[PriceRow | None] = []
    for ok, instrument, ts, price, volume in zip(
        passed, columns["instrument"], columns["ts"], columns["price"], columns["volume"],
        strict=True,
    ):  # fmt: skip
        utc = utc_us(ts) if ok else None
        if utc is None:
            rows.append(None)
            continue
        rows.append(
            (
                instrument,
                utc,
                float(price),
                None,
                None,
                None,
                None,
                None,
                None if volume is None else float(volume),
            )
        )
    return rows


def utc_us(ts: str) -> int | None:
    """µs since the epoch of a plain time; None when it is not a real one (Feb 30, 24:00, a
    leap second) or cannot be held as UTC (the model's conversion fails there too).

    A UTC time (`Z`) is its minute's start, read once per minute, plus its seconds."""
    if ts[-1] == "Z" and ts[17:19] < "60":
        minute = _MINUTES.get(ts[:16])
        if minute is None:
            minute = _minute_us(ts[:16])
        if minute is not None:
            fraction = ts[20:-1]  # "" without one; at most 6 digits (the plain-time pattern)
            micros = int(fraction) * 10 ** (6 - len(fraction)) if fraction else 0
            return minute + int(ts[17:19]) * 1_000_000 + micros
    try:
        return to_us(datetime.fromisoformat(ts).astimezone(UTC))
    except (ValueError, OverflowError):
        return None


_MINUTES: dict[str, int] = {}
"""`YYYY-MM-DDTHH:MM` (UTC) to µs since the epoch, for the minutes seen lately."""


def _minute_us(minute: str) -> int | None:
    try:
        us = to_us(datetime.fromisoformat(minute).replace(tzinfo=UTC))
    except ValueError:
        return None
    if len(_MINUTES) >= 100_000:  # a bound: ticks come in time order, old minutes go
        _MINUTES.clear()
    _MINUTES[minute] = us
    return us
