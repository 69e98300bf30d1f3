"""Windows laid out for many announcements at once are those each announcement opens on its
own: horizon by horizon with the one-time calendar forms, and in an engine given the
announcements together or one call at a time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine import (
    ALWAYS_OPEN,
    CalendarError,
    EngineConfig,
    ReactionEngine,
    SessionCalendar,
    get_calendar,
)
from services.engine.opening import horizon_spans, static_columns
from services.engine.windows import STATIC, WindowStore
from services.events import Announcement
from services.frames import to_us
from tests.engine.helpers import korea_registry, make_engine, utc
from tests.factories import announcement

# calendars that end a few sessions after the announcements, so some horizons are beyond them
XKRX = get_calendar("XKRX", date(2025, 6, 1), date(2025, 7, 15))
ALWAYS = get_calendar(ALWAYS_OPEN, date(2025, 6, 1), date(2025, 7, 15))
HORIZONS = EngineConfig(horizons=("5m", "30m", "2h", "13h", "close", "close+1", "close+5"))
FIRST = utc(2025, 7, 1)


def one_at_a_time(cal: SessionCalendar, ann: Announcement) -> tuple[int, list[dict[str, Any]]]:
    """(horizons beyond the calendar, each window's static columns), with the one-time forms."""
    try:
        anchor_us, session, at_open = cal.anchor(
            to_us(ann.published_at), day_precision=ann.published_at_precision == "day"
        )
    except CalendarError:
        return 1, []
    beyond, rows = 0, []
    for h in HORIZONS.parsed_horizons:
        try:
            if h.duration_s is not None:
                end_us = cal.add_trading_us(anchor_us, h.duration_s * 1_000_000)
            else:
                end_us = cal.session_close_us(session + (h.sessions_after or 0))
        except CalendarError:
            beyond += 1
            continue
        rows.append(
            {
                "horizon": h.name,
                "anchor_us": anchor_us,
                "base_cut_us": anchor_us - 1 if at_open else anchor_us,
                "end_us": end_us,
                "duration_us": (h.duration_s or 0) * 1_000_000,
                "at_open": at_open,
                "session": session,
                "sessions_k": cal.session_fractions(anchor_us, end_us),
            }
        )
    return beyond, rows


published = st.builds(
    lambda minutes, day: (FIRST + timedelta(minutes=minutes), day),
    st.integers(0, 20 * 24 * 60),  # to 21 July, past both calendars' end
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([XKRX, ALWAYS]), st.lists(published, min_size=1, max_size=30))
def test_laid_out_together_as_one_at_a_time(
    cal: SessionCalendar, times: list[tuple[datetime, bool]]
) -> None:
    anns = [
        announcement(f"a{j}", at, precision="day" if day else "minute")
        for j, (at, day) in enumerate(times)
    ]
    store = WindowStore()
    laid_out = horizon_spans(cal, anns, HORIZONS.parsed_horizons, store)
    for ann, spans in zip(anns, laid_out, strict=True):
        beyond, rows = one_at_a_time(cal, ann)
        assert spans.beyond_calendar == beyond
        assert spans.horizons == tuple(row["horizon"] for row in rows)
        assert spans.keys == tuple((ann.id, h) for h in spans.horizons)
        assert [(m.announcement_id, m.horizon) for m in spans.metas] == list(spans.keys)
        if not rows:
            continue
        assert spans.anchor_us == rows[0]["anchor_us"]
        columns = static_columns([spans])
        for name in STATIC:
            assert columns[name].tolist() == [row[name] for row in rows], name
        ids = store.announcement_ids.texts
        assert [ids[c] for c in columns["announcement_code"].tolist()] == [ann.id] * len(rows)
        names = store.horizons.texts
        assert [names[c] for c in columns["horizon_code"].tolist()] == list(spans.horizons)


def windows_of(anns: list[Announcement], calls: list[list[int]]) -> dict[str, Any]:
    """Each instrument's windows after `anns` were given in `calls` (their indexes, call by
    call)."""
    engine, _ = make_engine(korea_registry())
    for call in calls:
        engine.add_announcements([anns[j] for j in call])
    return windows(engine, anns)


def windows(engine: ReactionEngine, anns: list[Announcement]) -> dict[str, Any]:
    """Each instrument's windows (static columns, confounders, revision state) by key."""
    out: dict[str, Any] = {}
    for symbol, book in engine._books.items():
        table = book.windows
        cols = table.cols
        names = (*STATIC, "revision", "final", "alive")
        out[symbol] = {
            key: (
                tuple(cols[name][pos].item() for name in names),
                table.confounders(pos).ids,
                table.meta[pos].announcement_id,
                table.meta[pos].horizon,
            )
            for key, pos in table.index.items()
        }
        # every instrument's windows are in the order their announcements came
        order = {ann.id: j for j, ann in enumerate(anns)}
        opened = [order[table.meta[pos].announcement_id] for pos in table.positions().tolist()]
        assert opened == sorted(opened)
    return out


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 6 * 24 * 60), min_size=1, max_size=12),
    st.lists(st.booleans(), min_size=12, max_size=12),
    st.randoms(use_true_random=False),
)
def test_an_engine_opens_the_same_windows_together_or_one_call_at_a_time(
    minutes: list[int], autos: list[bool], rng: Any
) -> None:
    anns = [
        announcement(
            f"a{j}",
            FIRST + timedelta(minutes=m),
            sectors=("autos",) if autos[j] else ("all",),
            targets=("KR",),
        )
        for j, m in enumerate(minutes)
    ]
    together = windows_of(anns, [list(range(len(anns)))])
    assert windows_of(anns, [[j] for j in range(len(anns))]) == together
    cut = rng.randrange(len(anns) + 1)
    assert windows_of(anns, [list(range(cut)), list(range(cut, len(anns)))]) == together


def test_a_forgotten_instrument_reopens_the_windows_laid_out_call_by_call() -> None:
    anns = [announcement(f"a{j}", FIRST + timedelta(hours=7 * j)) for j in range(6)]
    engine, _ = make_engine(korea_registry())
    for ann in anns:  # each call lays out its own block
        engine.add_announcements([ann])
    before = windows(engine, anns)
    engine.forget(["KOSPI", "USDKRW"])  # reopened from every block at once
    assert windows(engine, anns) == before
