"""A dead letter too large for a producer request is cut, with a header saying so."""

from __future__ import annotations

from services.ingest.decode import Rejection, RejectReason
from services.ingest.dlq import PAYLOAD_MAX_BYTES, DeadLetter

WHY = Rejection(RejectReason.INVALID_JSON, "x" * 5000)


def letter(key: bytes | None, value: bytes | None) -> DeadLetter:
    return DeadLetter("market.prices", 2, 41, key, value, WHY)


def test_a_record_within_the_limit_is_sent_as_it_came() -> None:
    value = b"v" * (PAYLOAD_MAX_BYTES - 5)
    dead = letter(b"KOSPI", value)
    assert dead.payload() == (b"KOSPI", value)
    assert "mr.truncated" not in dict(dead.headers())


def test_a_record_over_the_limit_is_cut_and_says_so() -> None:
    value = b"v" * 1_040_000
    dead = letter(b"KOSPI", value)
    key, sent = dead.payload()
    assert key == b"KOSPI"
    assert sent == value[: PAYLOAD_MAX_BYTES - 5]
    headers = dict(dead.headers())
    assert headers["mr.truncated"] == b"key=5 value=1040000"
    assert len(headers["mr.detail"]) == 1000


def test_an_oversized_key_is_cut_too() -> None:
    dead = letter(b"k" * (PAYLOAD_MAX_BYTES + 10), b"value")
    key, value = dead.payload()
    assert key is not None
    assert len(key) == PAYLOAD_MAX_BYTES
    assert value == b""


def test_a_tombstone_stays_a_tombstone() -> None:
    assert letter(None, None).payload() == (None, None)
