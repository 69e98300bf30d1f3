"""The metrics count the engine's revisions from their columns exactly as from their Signals."""

from __future__ import annotations

import collections
import weakref
from datetime import date

import pytest

from services.engine import Revisions, get_calendar
from services.engine.encoding import RevisionColumns
from services.events import Signal
from services.frames import from_us
from services.live.tally import Tally, parts_of, tally
from tests.engine.helpers import korea_registry, kst, make_engine
from tests.factories import announcement, daily_bars, ticks

XKRX = get_calendar("XKRX", date(2010, 1, 1), date(2030, 12, 31))


def batches() -> list[Revisions]:
    """Several instruments, a baseline (z-scores) on KOSPI, confounders, finals, a late tick
    that corrects a final, and a late announcement that corrects retired finals (a part held
    as rows)."""
    engine, _ = make_engine(korea_registry())
    first = XKRX.session_by_date(date(2025, 7, 8))
    days = [
        from_us(XKRX.session_open_us(s)).astimezone(kst(2025, 1, 1).tzinfo)
        for s in range(first - 61, first)
    ]
    out = [
        engine.add_prices(daily_bars("KOSPI", [(d, 100.0 + i % 5) for i, d in enumerate(days)])),
        engine.add_announcements(
            [
                announcement("autos", kst(2025, 7, 7, 20, 0), sectors=["autos"]),
                announcement("intraday", kst(2025, 7, 8, 10, 0)),
            ]
        ),
    ]
    for sym, base, close in (("KOSPI", 100.0, 101.0), ("005380.KS", 200.0, 206.0)):
        out.append(
            engine.add_prices(
                ticks(sym, [(kst(2025, 7, 7, 15, 30), base), (kst(2025, 7, 8, 9, 0), base * 1.01)])
            )
        )
        out.append(engine.add_prices(ticks(sym, [(kst(2025, 7, 8, 15, 30), close)])))
    out.append(engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 8, 15, 25), 103.0)])))
    # the next day retires the day's finals; a late announcement inside them corrects them
    out.append(engine.add_prices(ticks("KOSPI", [(kst(2025, 7, 9, 9, 0), 102.0)])))
    out.append(engine.add_announcements([announcement("late", kst(2025, 7, 8, 12, 0))]))
    out.append(engine.finish())
    together = Revisions()
    for batch in out:
        together.extend(batch)
    return [*out, together]


def expected(batches: list[list[Signal]]) -> Tally:
    """Counted one revision at a time, the later of a series overwriting the earlier."""
    out = Tally(by_batch=[collections.Counter() for _ in batches])
    for batch, signals in enumerate(batches):
        for s in signals:
            out.emitted[(s.instrument, s.horizon, "true" if s.final else "false")] += 1
            out.by_batch[batch][s.instrument] += 1
            out.latest_return[(s.instrument, s.horizon)] = s.return_pct
            out.latest_z.pop((s.instrument, s.horizon), None)
            if s.z_score is not None:
                out.latest_z[(s.instrument, s.horizon)] = s.z_score
            out.first_batch.setdefault(s.announcement_id, batch)
    return out


def test_the_scenario_holds_columns_and_rows_of_every_kind() -> None:
    together = batches()[-1]
    assert {type(part) for part in together.parts} == {RevisionColumns, list}
    signals = list(together)
    assert any(s.z_score is not None for s in signals)
    assert any(s.z_score is None for s in signals)
    assert any(s.final for s in signals)
    assert any(s.corrected for s in signals)
    assert len({s.instrument for s in signals}) > 1


@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_columns_rows_and_signals_count_alike(size: int) -> None:
    """Batches folded `size` at a time, as the engine's revisions and as Signals."""
    all_batches = batches()
    for start in range(0, len(all_batches), size):
        chunk = all_batches[start : start + size]
        listed = [list(revisions) for revisions in chunk]
        assert tally([parts_of(revisions) for revisions in chunk]) == expected(listed)
        assert tally([parts_of(signals) for signals in listed]) == expected(listed)


def test_nothing_to_count() -> None:
    assert tally([]) == Tally()
    assert tally([parts_of(Revisions()), parts_of([])]) == Tally(
        by_batch=[collections.Counter(), collections.Counter()]
    )


def test_batches_that_sent_nothing_keep_their_place() -> None:
    """Batches without revisions (prices that moved no reaction) between the others, more of
    them than batches with revisions: each revision is still counted in its own batch, and
    each announcement's first batch is found."""
    spaced = [r for batch in batches()[:-1] for r in (*[Revisions()] * 10, batch)]
    listed = [list(revisions) for revisions in spaced]
    assert tally([parts_of(revisions) for revisions in spaced]) == expected(listed)


def test_what_waits_to_be_counted_holds_no_other_column() -> None:
    """Revisions wait for the next fold (up to a second): their other columns are freed with
    them meanwhile, as without metrics."""
    revisions = batches()[3]
    columns = revisions.parts[0]
    assert isinstance(columns, RevisionColumns)
    others = {
        name: weakref.ref(column)
        for name, column in columns.numbers.items()
        if name not in ("return_pct", "z_score")
    }
    waiting = parts_of(revisions)
    del revisions, columns
    assert [name for name, column in others.items() if column() is not None] == []
    assert tally([waiting]).emitted
