"""Revisions encoded as columns are byte for byte what the contract's JSON of their Signal is."""

from __future__ import annotations

import pickle

import orjson

from services.engine.emission import Revisions, rows, sent_rows
from services.engine.encoding import RevisionColumns
from services.events import signal_value
from tests.engine.helpers import kst, make_engine
from tests.factories import announcement, ticks


def scenario() -> list[Revisions]:
    """Provisional and final revisions with confounders, then a retired final corrected by a
    late announcement anchored inside it."""
    engine, _ = make_engine(horizons=["5m", "close"], allowed_lateness_s=60.0)
    out = [
        engine.add_announcements(
            [announcement("a", kst(2025, 7, 8, 9, 0)), announcement("b", kst(2025, 7, 8, 11, 0))]
        )
    ]
    out.append(engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 7, 15, 30), 100.0)])))
    for minute, price in ((0, 101.0), (3, 99.0), (6, 102.5), (125, 98.0), (390, 101.5)):
        at = kst(2025, 7, 8, 9 + minute // 60, minute % 60)
        out.append(engine.add_prices(ticks("KOSPI", [(at, price)])))
    # the next day: every window of 7/8 is final and retired
    out.append(engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 9, 9, 0), 101.0)])))
    out.append(engine.add_announcements([announcement("late", kst(2025, 7, 8, 12, 0))]))
    out.append(engine.finish())
    return out


def test_encoded_bytes_equal_the_signal_json() -> None:
    batches = scenario()
    revisions = [r for batch in batches for r in batch]
    encoded = [b for batch in batches for b in batch.encoded()]
    assert len(encoded) == len(revisions)
    assert {len(s.confounders) for s in revisions} >= {0, 1}
    corrected = [s for s in revisions if s.corrected]
    assert corrected, "the late announcement corrects the retired finals"
    assert all("late" in s.confounders for s in corrected)
    for signal, data in zip(revisions, encoded, strict=True):
        assert data == signal_value(signal)
        assert data == orjson.dumps(signal.model_dump(mode="json"))


def test_behaves_as_a_sequence_of_signals() -> None:
    batch = next(b for b in scenario() if len(b) > 1)
    signals = list(batch)
    assert batch == signals
    assert batch[0] is batch[0]  # built once
    assert batch[1:] == signals[1:]
    assert [*batch, *signals] == batch + signals == list(batch) + batch
    assert Revisions() == []


def test_a_kept_final_reads_as_its_row_and_pickles_as_one() -> None:
    """A window keeps its final revision's fields as a row made when first read: equal to
    the row made at once, and a snapshot holds that row itself."""
    batches = scenario()
    for revisions in batches:
        for part in revisions._parts:
            if not isinstance(part, RevisionColumns):
                continue
            made = rows(part)
            kept = sent_rows(part)
            assert [dict(row) for row in kept] == made
            assert kept == made
            for row, fields in zip(kept, made, strict=True):
                assert row["signal_id"] == fields["signal_id"]
                assert len(row) == len(fields)
                copy = pickle.loads(pickle.dumps(row))
                assert type(copy) is dict
                assert copy == fields
            return
    raise AssertionError("the scenario sends revisions as columns")
