import pytest

from services.events import Announcement, Price
from services.ingest.decode import Rejection, RejectReason, decode_announcement, decode_price

TICK = b'{"instrument":"KOSPI","ts":"2025-07-08T09:00:00+09:00","price":3059.47}'
BAR = (
    b'{"instrument":"KOSPI","ts":"2025-07-08T00:00:00Z","open":3060,"high":3090,'
    b'"low":3050,"close":3080,"interval":"1m","volume":1200}'
)
LETTER = (
    b'{"id":"us-kr-2025-07-07","published_at":"2025-07-07T12:05:00-04:00","targets":["KR"],'
    b'"action":"impose","tariff_rate_pct":25,"headline":"US sets 25% tariff on Korean goods"}'
)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, RejectReason.TOMBSTONE),  # a tombstone has no event
        (b'{"instrument":"KOSPI","ts":"\xff"}', RejectReason.NOT_UTF8),
        (b"\xc3\x28", RejectReason.NOT_UTF8),  # invalid 2-byte sequence
        (b'{"instrument":', RejectReason.INVALID_JSON),
        (b"[1, 2]", RejectReason.NOT_AN_OBJECT),
        (b'"KOSPI"', RejectReason.NOT_AN_OBJECT),
        (b'{"ts":"2025-07-08T00:00:00Z","price":1}', RejectReason.SCHEMA),  # no instrument
        (b'{"instrument":"K","ts":"2025-07-08T00:00:00","price":1}', RejectReason.SCHEMA),  # naive
        (b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","price":"x"}', RejectReason.SCHEMA),
        (b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","price":0}', RejectReason.OUT_OF_RANGE),
        (b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","price":-3}', RejectReason.OUT_OF_RANGE),
        (
            b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","price":1,"volume":-1}',
            RejectReason.OUT_OF_RANGE,
        ),
        (
            b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","open":2,"high":2,"low":3,'
            b'"close":2,"interval":"1m"}',
            RejectReason.INCONSISTENT_BAR,  # low > high
        ),
        (
            b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","open":5,"high":4,"low":1,'
            b'"close":2,"interval":"1m"}',
            RejectReason.INCONSISTENT_BAR,  # open above high
        ),
        (
            b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","price":1,"close":1}',
            RejectReason.SCHEMA,  # tick and bar at once
        ),
        (
            b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","open":1,"high":1,"low":1,"close":1}',
            RejectReason.SCHEMA,  # bar without interval
        ),
    ],
)
def test_bad_price_records_are_rejected_with_their_reason(
    value: bytes | None, reason: RejectReason
) -> None:
    result = decode_price(value)
    assert isinstance(result, Rejection)
    assert result.reason is reason
    assert result.detail


def test_valid_tick_and_bar_decode_to_utc_events() -> None:
    tick = decode_price(TICK)
    bar = decode_price(BAR)
    assert isinstance(tick, Price)
    assert tick.ts.isoformat() == "2025-07-08T00:00:00+00:00"
    assert not tick.is_bar
    assert isinstance(bar, Price)
    assert bar.is_bar
    assert (bar.open, bar.high, bar.low, bar.close, bar.interval) == (3060, 3090, 3050, 3080, "1m")


def test_announcement_defaults_and_unknown_fields() -> None:
    result = decode_announcement(LETTER[:-1] + b',"future_field":{"x":1}}')
    assert isinstance(result, Announcement)
    assert result.published_at.isoformat() == "2025-07-07T16:05:00+00:00"
    assert result.sectors == ["all"]
    assert result.issuer == "US"
    assert result.published_at_precision == "minute"


def test_announcement_without_targets_is_a_schema_rejection() -> None:
    result = decode_announcement(LETTER.replace(b'"targets":["KR"],', b""))
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.SCHEMA
    assert result.detail.startswith("targets")


POISON_PRICES = [
    # each was once accepted by the schema and then stopped a consumer or broke a store
    (b'{"instrument":"K","ts":"9999-12-31T23:59:59-14:00","price":1}', RejectReason.OUT_OF_RANGE),
    (b'{"instrument":"K","ts":"0001-01-01T00:00:00+14:00","price":1}', RejectReason.OUT_OF_RANGE),
    (b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","price":1e-310}', RejectReason.OUT_OF_RANGE),
    (b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","price":1e300}', RejectReason.OUT_OF_RANGE),
    (b'{"instrument":"K","ts":"2025-07-08T00:00:00Z","price":1e400}', RejectReason.INVALID_JSON),
    (b'{"instrument":"K\\u0000","ts":"2025-07-08T00:00:00Z","price":1}', RejectReason.SCHEMA),
    (
        b'{"instrument":"' + b"K" * 41 + b'","ts":"2025-07-08T00:00:00Z","price":1}',
        RejectReason.SCHEMA,
    ),
]


@pytest.mark.parametrize(("value", "reason"), POISON_PRICES)
def test_poison_prices_are_rejections_not_errors(value: bytes, reason: RejectReason) -> None:
    result = decode_price(value)
    assert isinstance(result, Rejection), result
    assert result.reason is reason


@pytest.mark.parametrize(
    ("replace", "by", "field"),
    [
        (
            b'"published_at":"2025-07-07T12:05:00-04:00"',
            b'"published_at":"0001-01-01T00:00:00Z"',
            "published_at",
        ),
        (b'"targets":["KR"]', b'"targets":["KR"],"effective_at":"9999-12-31"', "effective_at"),
        (b'"targets":["KR"]', b'"targets":["KR"],"sectors":["' + b"s" * 61 + b'"]', "sectors"),
        (b"Korean goods", b"Korean \\u0000goods", "headline"),
        (b'"tariff_rate_pct":25', b'"tariff_rate_pct":-25', "tariff_rate_pct"),
    ],
)
def test_poison_announcements_are_rejections_not_errors(
    replace: bytes, by: bytes, field: str
) -> None:
    assert replace in LETTER
    result = decode_announcement(LETTER.replace(replace, by))
    assert isinstance(result, Rejection), result
    assert result.detail.startswith(field)
