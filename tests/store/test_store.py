"""The store on SQLite and PostgreSQL: idempotent writes, cursor order, latest vs revisions,
recovery queries and filters."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from services.events import Signal
from services.frames import prices_frame
from services.store import ReactionFilter, SqlStore, StoreBatch, open_store
from services.store.connect import database_url
from services.store.exceptions import UnsupportedDatabaseUrl
from services.store.filters import AnnouncementFilter, GroupBy
from tests.factories import T0, announcement, bar, signal, tick


def keys(signals: list[Signal]) -> list[tuple[str, str, str, int]]:
    return [(s.announcement_id, s.instrument, s.horizon, s.revision) for s in signals]


async def test_a_repeated_batch_changes_nothing(store: SqlStore) -> None:
    batch = StoreBatch(
        announcements=[announcement("a1"), announcement("a1")],
        prices=prices_frame(
            [tick("KOSPI", T0, 100.0), tick("KOSPI", T0 + timedelta(seconds=5), 101.0)]
        ),
        signals=[signal("a1", revision=1), signal("a1", revision=2), signal("a1", revision=2)],
    )
    first = await store.write_batch(batch)
    assert first.announcements_added == 1
    assert [s.revision for s in first.signals] == [1, 2]
    before = (
        await store.revisions("a1", "KOSPI", "close"),
        await store.list_reactions(ReactionFilter(), after=None, limit=10),
        await store.bars_since(T0, interval="1m"),
    )

    again = await store.write_batch(batch)

    assert again.announcements_added == 0
    assert again.signals == []
    after = (
        await store.revisions("a1", "KOSPI", "close"),
        await store.list_reactions(ReactionFilter(), after=None, limit=10),
        await store.bars_since(T0, interval="1m"),
    )
    assert after[0] == before[0]
    assert after[1] == before[1]
    assert after[2].equals(before[2])


async def test_stored_signals_come_back_equal_with_their_cursor(store: SqlStore) -> None:
    sent = signal("a1", confounders=["a0", "a2"], gap_pct=0.52, z_score=None)
    stored = (await store.write_batch(StoreBatch(signals=[sent]))).signals
    assert stored[0].cursor is not None
    assert stored[0] == sent.model_copy(update={"cursor": stored[0].cursor})
    assert await store.revisions("a1", "KOSPI", "close") == stored


async def test_cursors_increase_in_commit_order(store: SqlStore) -> None:
    written = []
    for r in range(1, 4):
        batch = [signal(f"a{i}", revision=r) for i in range(3)]
        written += (await store.write_batch(StoreBatch(signals=batch))).signals
    cursors = [s.cursor or 0 for s in written]
    assert cursors == sorted(cursors)
    assert len(set(cursors)) == len(cursors)
    assert await store.revisions_after(0, limit=100) == written
    assert await store.revisions_after(cursors[3], limit=2) == written[4:6]


async def test_concurrent_writers_never_commit_a_smaller_cursor_later(store_url: str) -> None:
    """Two stores on one database (as two processes would be) append while a reader follows the
    log by cursor: a revision committed with a cursor below one already read would be missed."""
    writers = [await open_store(store_url), await open_store(store_url)]
    reader = await open_store(store_url)
    seen: list[int] = []
    done = asyncio.Event()

    async def write(store: SqlStore, name: str) -> None:
        for n in range(40):
            batch = [signal(f"{name}-{n}", "KOSPI", h) for h in ("5m", "30m", "close")]
            await store.write_batch(StoreBatch(signals=batch))

    async def follow() -> None:
        while True:
            finished = done.is_set()
            rows = await reader.revisions_after(seen[-1] if seen else 0, limit=1000)
            seen.extend(s.cursor or 0 for s in rows)
            if finished and not rows:
                return
            await asyncio.sleep(0)

    follower = asyncio.create_task(follow())
    try:
        await asyncio.gather(write(writers[0], "w0"), write(writers[1], "w1"))
        done.set()
        await follower
        everything = [s.cursor for s in await reader.revisions_after(0, limit=1000)]
        assert len(everything) == 240
        assert seen == everything
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        for s in (*writers, reader):
            await s.close()


async def test_latest_keeps_the_highest_revision_whatever_the_order(store: SqlStore) -> None:
    await store.write_batch(StoreBatch(signals=[signal("a1", revision=3, return_pct=3.0)]))
    await store.write_batch(StoreBatch(signals=[signal("a1", revision=2, return_pct=2.0)]))
    await store.write_batch(
        StoreBatch(signals=[signal("a1", revision=5, return_pct=5.0), signal("a1", revision=4)])
    )

    latest = await store.reactions_of("a1")
    assert [(s.revision, s.return_pct) for s in latest] == [(5, 5.0)]
    revisions = await store.revisions("a1", "KOSPI", "close")
    assert [s.revision for s in revisions] == [3, 2, 5, 4]  # log order: cursor order


async def test_the_outbox_holds_the_new_revisions_of_a_batch_and_no_repeat(
    store: SqlStore,
) -> None:
    def held(*revisions: int) -> StoreBatch:
        sent = [signal("a1", revision=r) for r in revisions]
        return StoreBatch(signals=sent, hold_until_published=True)

    first = (await store.write_batch(held(1, 2))).signals
    await store.mark_published([s.cursor or 0 for s in first])
    second = (await store.write_batch(held(2, 3, 4))).signals

    assert [s.revision for s in second] == [3, 4]
    assert await store.unpublished(limit=10) == second


async def test_ticks_become_bars_by_interval_and_instrument(store: SqlStore) -> None:
    await store.write_batch(
        StoreBatch(
            announcements=[announcement("old", day=-10), announcement("new", day=0)],
            prices=prices_frame(
                [
                    tick("KOSPI", T0 + timedelta(seconds=1), 100.0),
                    tick("KOSPI", T0 + timedelta(seconds=30), 103.0),
                    tick("KOSPI", T0 + timedelta(seconds=59), 101.0),
                    bar("KOSPI", T0 - timedelta(days=1), 98.0, 99.0, 97.0, 98.5, "1d"),
                    bar("KOSDAQ", T0 + timedelta(minutes=1), 50.0, 51.0, 49.0, 50.5),
                    bar("KOSDAQ", T0, 1.0, 1.0, 1.0, 1.0, "5m"),
                ]
            ),
            signals=[
                signal("new", "KOSPI", "close", 1),
                signal("new", "KOSPI", "5m", 2, final=True),
                signal("old", "KOSPI", "close", 1, day=-10, final=True),
                signal("old", "KOSPI", "close+5", 7, day=-10),
            ],
        )
    )

    minute = await store.bars_since(T0, interval="1m")
    assert minute.select("instrument", "open", "high", "low", "close", "interval").rows() == [
        ("KOSPI", 100.0, 103.0, 100.0, 101.0, "1m"),  # three ticks of one minute
        ("KOSDAQ", 50.0, 51.0, 49.0, 50.5, "1m"),
    ]
    kospi_only = await store.bars_since(T0, interval="1m", instruments=["KOSPI"])
    assert kospi_only["instrument"].to_list() == ["KOSPI"]
    daily = await store.bars_since(T0 - timedelta(days=5), interval="1d")
    assert daily.select("ts", "close").rows() == [(T0 - timedelta(days=1), 98.5)]


async def test_bars_merge_the_same_whatever_the_batching(store: SqlStore) -> None:
    """Ticks of one minute split over batches, in any order, give one bar: the earliest open,
    the latest close and the extremes; a full 1m bar wins open and close."""
    ticks = [tick("X", T0 + timedelta(seconds=s), p) for s, p in ((40, 7.0), (10, 5.0), (50, 6.0))]
    for t in ticks:
        await store.write_batch(StoreBatch(prices=prices_frame([t])))
    await store.write_batch(StoreBatch(prices=prices_frame(ticks[::-1])))
    bars = await store.bars("X", T0, T0 + timedelta(minutes=1), interval="1m")
    assert bars.select("open", "high", "low", "close").rows() == [(5.0, 7.0, 5.0, 6.0)]

    await store.write_batch(StoreBatch(prices=prices_frame([bar("X", T0, 4.0, 8.5, 3.0, 8.0)])))
    bars = await store.bars("X", T0, T0 + timedelta(minutes=1), interval="1m")
    assert bars.select("open", "high", "low", "close").rows() == [(4.0, 8.5, 3.0, 8.0)]


async def test_reaction_filters_and_keyset_pages(store: SqlStore) -> None:
    await store.write_batch(
        StoreBatch(
            announcements=[
                announcement("a", day=0, targets=("KR",), sectors=("autos", "steel")),
                announcement("b", day=1, targets=("KR", "JP"), action="deal"),
                announcement("c", day=2, targets=("JP",), sectors=("steel",)),
            ],
            signals=[
                signal("a", "KOSPI", "close", day=0, z_score=2.5, final=True),
                signal("a", "005380.KS", "close", day=0, z_score=-3.0),
                signal("b", "KOSPI", "5m", day=1, z_score=0.2, final=True),
                signal("b", "KOSPI", "close", day=1, z_score=None),
                signal("c", "NIKKEI", "close", day=2, z_score=-1.0, final=True),
            ],
        )
    )

    async def ids(**where: Any) -> list[tuple[str, str, str]]:
        rows = await store.list_reactions(ReactionFilter(**where), after=None, limit=100)
        return [(s.announcement_id, s.instrument, s.horizon) for s in rows]

    everything = await ids()
    assert everything == [
        ("a", "005380.KS", "close"),
        ("a", "KOSPI", "close"),
        ("b", "KOSPI", "5m"),
        ("b", "KOSPI", "close"),
        ("c", "NIKKEI", "close"),
    ]
    assert await ids(instrument="KOSPI") == [everything[1], everything[2], everything[3]]
    assert await ids(target="JP") == everything[2:]
    assert await ids(sector="steel") == [everything[0], everything[1], everything[4]]
    assert await ids(action="deal") == everything[2:4]
    assert await ids(horizon="5m") == [everything[2]]
    assert await ids(final=True) == [everything[1], everything[2], everything[4]]
    assert await ids(final=False) == [everything[0], everything[3]]
    assert await ids(min_abs_z=2.0) == everything[:2]
    assert await ids(start=T0 + timedelta(days=1, hours=2), end=T0 + timedelta(days=2)) == []
    assert (
        await ids(start=T0 + timedelta(days=1, hours=1), end=T0 + timedelta(days=2, hours=1))
        == everything[2:4]
    )

    pages, after = [], None
    while True:
        page = await store.list_reactions(ReactionFilter(), after=after, limit=2)
        if not page:
            break
        pages += page
        last = page[-1]
        from services.frames import to_us
        from services.store.filters import ReactionKey

        after = ReactionKey(
            to_us(last.anchor_at), last.announcement_id, last.instrument, last.horizon
        )
    assert [(s.announcement_id, s.instrument, s.horizon) for s in pages] == everything

    values = await store.reaction_values(
        ReactionFilter(horizon="close"), group_by="target", metric="z_score"
    )
    assert sorted(values.rows()) == [("JP", -1.0), ("KR", -3.0), ("KR", 2.5)]

    # filtering on the column grouped by (found by schemathesis: the EXISTS must not correlate)
    where = ReactionFilter(action="deal", target="KR", sector="all", instrument="KOSPI")
    grouped_rows: list[tuple[GroupBy, int]] = [
        ("action", 2),
        ("target", 4),
        ("sector", 2),
        ("instrument", 2),
    ]
    for group_by, rows in grouped_rows:
        grouped = await store.reaction_values(where, group_by=group_by, metric="return_pct")
        assert grouped.height == rows, group_by  # b targets KR and JP: once in each

    listed = await store.list_announcements(AnnouncementFilter(target="JP"), after=None, limit=10)
    assert [a.id for a in listed] == ["b", "c"]
    assert (await store.get_announcement("b")) == announcement(
        "b", day=1, targets=("KR", "JP"), action="deal"
    )
    assert await store.get_announcement("zz") is None


def test_the_url_picks_a_supported_backend() -> None:
    assert database_url("sqlite:///data/x.db").drivername == "sqlite+aiosqlite"
    assert database_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    for bad in ("mysql://u@h/db", "postgresql+psycopg2://u@h/db", "not a url"):
        with pytest.raises(UnsupportedDatabaseUrl):
            database_url(bad)
