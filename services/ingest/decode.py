"""Raw Kafka record values → validated events, or a rejection with a reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from services.events import Announcement, Price

M = TypeVar("M", bound=BaseModel)


class RejectReason(StrEnum):
    """Why a record went to the dead-letter topic; a bounded label set for metrics."""

    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    SCHEMA = "schema"
    OUT_OF_RANGE = "out_of_range"
    INCONSISTENT_BAR = "inconsistent_bar"
    TOMBSTONE = "tombstone"
    IMPLAUSIBLE_TIME = "implausible_time"
    """Event time too far ahead of the instrument's watermark or of the wall clock."""


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    detail: str


_RANGE_ERRORS = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "implausible_year"}
)


def _classify(error: ValidationError) -> Rejection:
    """By the most specific error: a value out of range is named as such even where a union
    (a time or a date) also reports its other branch's mismatch."""
    errors = error.errors(include_url=False)
    specific = [e for e in errors if e["type"] in _RANGE_ERRORS or e["type"] == "inconsistent_bar"]
    first = (specific or errors)[0]
    # a union's branches appear in the location as `function-after[...]`: not a field
    location = ".".join(str(part) for part in first["loc"] if "[" not in str(part))
    detail = f"{location or 'event'}: {first['msg']}"
    if first["type"] in _RANGE_ERRORS:
        return Rejection(RejectReason.OUT_OF_RANGE, detail)
    if first["type"] == "inconsistent_bar":
        return Rejection(RejectReason.INCONSISTENT_BAR, detail)
    return Rejection(RejectReason.SCHEMA, detail)


def _undecodable(value: bytes, error: orjson.JSONDecodeError) -> Rejection:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(RejectReason.NOT_UTF8, f"byte {exc.start}: {exc.reason}")
    return Rejection(RejectReason.INVALID_JSON, str(error))


def _decoder(model: type[M]) -> Callable[[bytes | None], M | Rejection]:
    def decode(value: bytes | None) -> M | Rejection:
        if value is None:
            return Rejection(RejectReason.TOMBSTONE, "empty record value (tombstone)")
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            return _undecodable(value, exc)
        if not isinstance(data, dict):
            kind = type(data).__name__
            return Rejection(RejectReason.NOT_AN_OBJECT, f"expected an object, got {kind}")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            return _classify(exc)
        except (ArithmeticError, ValueError) as exc:
            # a validator that failed outside pydantic's own checks: still a bad record, never
            # a stalled consumer
            return Rejection(RejectReason.SCHEMA, f"event: {exc}")

    return decode


decode_announcement = _decoder(Announcement)
decode_price = _decoder(Price)
