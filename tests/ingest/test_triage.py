from dataclasses import dataclass

import pytest

from services.events import Price
from services.ingest.decode import RejectReason, decode_price
from services.ingest.dedupe import RecentSet, price_identity
from services.ingest.plausibility import EventTimeBounds
from services.ingest.pricetriage import triage_prices
from services.ingest.recentrows import RecentRows
from services.ingest.triage import each, triage


@dataclass(frozen=True)
class Record:
    value: bytes | None
    offset: int
    topic: str = "market.prices"
    partition: int = 0
    key: bytes | None = b"KOSPI"
    timestamp: int = 1_751_932_800_000


def tick(ts: str, price: float) -> bytes:
    return f'{{"instrument":"KOSPI","ts":"{ts}","price":{price}}}'.encode()


def test_triage_splits_valid_duplicate_and_dead() -> None:
    records = [
        Record(tick("2025-07-08T00:00:00Z", 3100), 0),
        Record(tick("2025-07-08T00:00:00Z", 3100), 1),  # same instrument, time and value
        Record(tick("2025-07-08T00:00:00Z", 3101), 2),  # same time, other value: a new event
        Record(b"not json", 3),
        Record(tick("2025-07-08T00:00:01Z", -1), 4),
    ]
    result = triage(records, each(decode_price), price_identity, RecentSet(100))
    assert [p.price for p in result.valid] == [3100, 3101]
    assert result.arrived_ms == [Record.timestamp] * 2
    assert all(isinstance(p, Price) for p in result.valid)
    assert result.duplicates == 1
    assert result.consumed == 5
    assert [(d.offset, d.rejection.reason) for d in result.dead] == [
        (3, RejectReason.INVALID_JSON),
        (4, RejectReason.OUT_OF_RANGE),
    ]
    assert result.dead[0].value == b"not json"
    assert dict(result.dead[0].headers())["mr.source.offset"] == b"3"


def test_duplicates_are_recognised_across_polls() -> None:
    seen = RecentSet(100)
    first = triage(
        [Record(tick("2025-07-08T00:00:00Z", 1), 0)], each(decode_price), price_identity, seen
    )
    again = triage(
        [Record(tick("2025-07-08T00:00:00Z", 1), 7)], each(decode_price), price_identity, seen
    )
    assert len(first.valid) == 1
    assert again.valid == []
    assert again.duplicates == 1


def test_recent_set_forgets_the_oldest_beyond_capacity() -> None:
    seen = RecentSet(2)
    assert seen.add("a")
    assert seen.add("b")
    assert not seen.add("a")
    assert seen.add("c")  # evicts "a", the oldest
    assert len(seen) == 2
    assert seen.add("a")
    assert not seen.add("c")


def test_recent_set_needs_room() -> None:
    with pytest.raises(ValueError, match="capacity"):
        RecentSet(0)


def test_a_price_batch_keeps_the_newest_arrival_of_each_instrument() -> None:
    def price(instrument: str, second: int, arrived: int) -> Record:
        value = f'{{"instrument":"{instrument}","ts":"2025-07-08T00:00:{second:02d}Z","price":1}}'
        return Record(value.encode(), second, timestamp=arrived)

    records = [price("KOSPI", 1, 1_000), price("KOSDAQ", 1, 900), price("KOSPI", 2, 800)]
    bounds = EventTimeBounds(max_ahead_of_watermark=None, max_ahead_of_wall_clock=None)
    batch = triage_prices(records, RecentRows(100), bounds).batch
    assert batch.prices.height == 3
    assert batch.arrived_ms == {"KOSPI": 1_000, "KOSDAQ": 900}
