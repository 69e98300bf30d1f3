"""Price records in the common form of a plain tick, read as columns by polars: no Python
object per record.

A record is in the common form when its whole value matches `COMMON_TICK`: a JSON object of
`instrument`, `ts` and `price` in that order (then `volume`, if given), strings without escapes,
the time in UTC (`Z`) with at most microseconds, its year within the limits, and plain JSON
numbers. That is the form producers write (`orjson.dumps` of a dict, the model's own JSON), and
it has one reading: the model accepts such a record exactly when its calendar date and time
exist and its numbers are within their bounds, which the columns are then checked for. A record
outside the form, or failing those checks, is left to the model's path (`fastprice`): verdicts
and reasons stay the model's. tests/ingest/test_pricetriage.py holds the two equal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from services import limits
from services.ingest.fastprice import utc_us

_WS = r"[ \t\n\r]*"
_NUMBER = r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,2})?"
"""A JSON number whose integer part has at most 15 digits (an integer one is exact as a float,
so comparing the float with a bound is comparing the integer) and whose exponent has at most
2 (polars' JSON reader refuses a number beyond a float's range)."""
_TEXT = r'"[^"\\\x00-\x1f]{1,%d}"' % limits.INSTRUMENT_MAX_CHARS  # noqa: UP031
"""A JSON string without escapes (the characters are the bytes'), 1 to the maximum length."""
_UTC_TIME = (
    rf'"{limits.SCHEMA_YEAR_PATTERN}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])'
    r'T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?Z"'
)
"""An RFC 3339 UTC time with digits in range; whether the date exists is checked on parsing."""


def _member(name: str, value: str) -> str:
    return rf'{_WS}"{name}"{_WS}:{_WS}{value}{_WS}'


def _form(instrument: str, ts: str, price: str, volume: str) -> str:
    return (
        rf"^{_WS}\{{{_member('instrument', instrument)},{_member('ts', ts)},"
        rf"{_member('price', price)}(?:,{_member('volume', volume)})?\}}{_WS}$"
    )


COMMON_TICK = _form(_TEXT, _UTC_TIME, _NUMBER, _NUMBER)
_CAPTURED = _form(
    rf'"(?P<instrument>{_TEXT[1:-1]})"',
    r'"(?P<ts>[^"]{1,40})"',
    f"(?P<price>{_NUMBER})",
    f"(?P<volume>{_NUMBER})",
)
"""`COMMON_TICK` with its members' values captured (a string's without its quotes: no value
in the form has an escape, so that is the string). The time is captured loosely and checked
with `_TIME` apart: the same verdict, and far cheaper than capturing with the time's pattern."""
_TIME = rf"^{_UTC_TIME[1:-1]}$"


SMALL_POLL = 400
"""Up to this many values a poll is read record by record (Python's `re`, the same patterns):
a polars pass costs about a millisecond whatever its size, more than a small poll's records."""


def common_ticks(values: Sequence[bytes | None]) -> pl.DataFrame:
    """The values that are plain ticks in the common form the model accepts, as a frame of
    `at` (the value's index), `instrument`, `ts` (µs since the epoch), `price` and `volume`,
    each the model's value; the other values have no row."""
    return (ticks_by_record if len(values) <= SMALL_POLL else ticks_by_column)(values)


def ticks_by_column(values: Sequence[bytes | None]) -> pl.DataFrame:
    """`common_ticks` by polars, one pass per column: for large polls."""
    at = pl.int_range(pl.len(), dtype=pl.UInt32).alias("at")
    fields = (
        _text(values)
        .to_frame()
        .select(at, pl.col("value").str.extract_groups(_CAPTURED).struct.unnest())
        .filter(pl.col("ts").str.contains(_TIME))  # null where the value is not in the form
    )
    if fields.is_empty():
        return _EMPTY
    ts = pl.col("ts")
    second = ts.str.slice(0, 19).str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False)
    # the fraction ".f" to ".ffffff" as microseconds; none is 0
    micros = ts.str.slice(20).str.strip_chars_end("Z").str.pad_end(6, "0").cast(pl.Int64)
    return fields.select(
        "at",
        "instrument",
        (second + pl.duration(microseconds=micros)).dt.epoch("us").alias("ts"),
        _number("price"),
        _number("volume"),
    ).filter(
        # a date that does not exist (Feb 30) parses to null: the model explains it
        pl.col("ts").is_not_null(),
        pl.col("price").is_between(limits.PRICE_MIN, limits.PRICE_MAX),
        pl.col("volume").is_null() | pl.col("volume").is_between(0, limits.VOLUME_MAX),
    )


_captured = re.compile(_CAPTURED[1:-1]).fullmatch
_is_time = re.compile(_TIME[1:-1]).fullmatch
"""The patterns without their anchors, matched whole (Python's `$` would let a final newline
through)."""


def ticks_by_record(values: Sequence[bytes | None]) -> pl.DataFrame:
    """`common_ticks` value by value: for small polls."""
    columns: tuple[list[int], list[str], list[int], list[float], list[float | None]] = (
        [], [], [], [], [],
    )  # fmt: skip
    at, instruments, times, prices, volumes = columns
    for i, value in enumerate(values):
        fields = _captured(_utf8(value) or "")
        if fields is None:
            continue
        instrument, ts, price_text, volume_text = fields.groups()
        us = utc_us(ts) if _is_time(ts) else None
        if us is None:  # not in the form, or a date that does not exist: the model explains it
            continue
        price = _float(price_text)
        volume = None if volume_text is None else _float(volume_text)
        if not limits.PRICE_MIN <= price <= limits.PRICE_MAX or not (
            volume is None or 0 <= volume <= limits.VOLUME_MAX
        ):
            continue
        at.append(i)
        instruments.append(instrument)
        times.append(us)
        prices.append(price)
        volumes.append(volume)
    return pl.DataFrame(dict(zip(_EMPTY.columns, columns, strict=True)), schema=_EMPTY.schema)


def _float(text: str) -> float:
    """A captured JSON number as the model's float (see `_number`)."""
    return 0.0 if text == "-0" else float(text)


def _number(name: str) -> pl.Expr:
    """A captured JSON number as the model's float: the text's correctly rounded value, but
    the integer `-0` is 0 (orjson reads it as the int 0)."""
    text = pl.col(name)
    return pl.when(text == "-0").then(0.0).otherwise(text.cast(pl.Float64)).alias(name)


def _text(values: Sequence[bytes | None]) -> pl.Series:
    """The values as strings; one that is not UTF-8 is null (and left to the model)."""
    binary = pl.Series("value", values, dtype=pl.Binary)
    try:
        return binary.cast(pl.String)
    except pl.exceptions.ComputeError:  # rare: found value by value
        return pl.Series("value", [_utf8(v) for v in values], dtype=pl.String)


def _utf8(value: bytes | None) -> str | None:
    try:
        return None if value is None else value.decode()
    except UnicodeDecodeError:
        return None


_EMPTY = pl.DataFrame(
    schema={
        "at": pl.UInt32,
        "instrument": pl.String,
        "ts": pl.Int64,
        "price": pl.Float64,
        "volume": pl.Float64,
    }
)
