"""Exchange calendars come back from the disk cache exactly as they were built, and a cache that
cannot be read only costs a rebuild."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from services.engine import calendar, calendar_cache
from services.engine.calendar_cache import NO_BREAK, Schedule

START, END = date(2024, 1, 1), date(2025, 12, 31)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Iterator[Path]:
    calendar_cache.keep_calendars_in(tmp_path)
    yield tmp_path
    calendar_cache.keep_calendars_in(None)


def build(code: str, start: date, end: date) -> calendar.SessionCalendar:
    """get_calendar without its in-process memo, so each call reads the disk cache."""
    return calendar.get_calendar.__wrapped__(code, start, end)


def test_xkrx_read_back_equals_the_built_calendar(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = build("XKRX", START, END)
    assert len(list(cache_dir.glob("XKRX_2024-01-01_2025-12-31_*.npz"))) == 1

    def not_again(code: str, start: date, end: date) -> Schedule:
        raise AssertionError("the calendar was built again instead of read from the cache")

    monkeypatch.setattr(calendar, "_exchange_schedule", not_again)
    read = build("XKRX", START, END)
    assert str(read.tz) == str(built.tz) == "Asia/Seoul"
    assert read.labels == built.labels
    np.testing.assert_array_equal(read.opens_us, built.opens_us)
    np.testing.assert_array_equal(read.closes_us, built.closes_us)
    assert (read.seg_start, read.seg_end) == (built.seg_start, built.seg_end)
    # 2025-01-02 opened an hour late (10:00 KST) after New Year: special opens survive the trip
    ordinal = date(2025, 1, 2).toordinal()
    assert read.opens_us[read.labels.index(ordinal)] == 1_735_779_600_000_000


def two_sessions(tz: str = "Asia/Hong_Kong") -> Schedule:
    """A session with a midday break and one without, in plain values."""
    day_us = 86_400_000_000
    opens = np.array([0, day_us], dtype=np.int64) + 1_000
    return Schedule(
        tz=tz,
        labels=np.array([date(1970, 1, 1).toordinal(), date(1970, 1, 2).toordinal()]),
        opens_us=opens,
        closes_us=opens + 10_000,
        break_starts_us=np.array([4_000, NO_BREAK], dtype=np.int64),
        break_ends_us=np.array([5_000, NO_BREAK], dtype=np.int64),
    )


def test_breaks_survive_and_an_unreadable_file_is_rebuilt(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[str] = []

    def exchange(code: str, start: date, end: date) -> Schedule:
        builds.append(code)
        return two_sessions()

    monkeypatch.setattr(calendar, "_exchange_schedule", exchange)
    first = build("XHKG", START, END)
    assert first.seg_start == [1_000, 5_000, 86_400_001_000]
    assert first.seg_end == [4_000, 11_000, 86_400_011_000]
    assert build("XHKG", START, END).seg_start == first.seg_start
    assert builds == ["XHKG"]

    (saved,) = cache_dir.glob("XHKG_*.npz")
    saved.write_bytes(b"torn")
    assert build("XHKG", START, END).seg_end == first.seg_end
    assert builds == ["XHKG", "XHKG"]
    assert build("XHKG", START, END).seg_end == first.seg_end
    assert builds == ["XHKG", "XHKG"]


def test_without_a_directory_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calendar_cache.keep_calendars_in(None)
    monkeypatch.setattr(calendar, "_exchange_schedule", lambda code, s, e: two_sessions())
    assert build("XHKG", START, END).seg_start[0] == 1_000
    assert calendar_cache.load("XHKG", START, END) is None
    assert not list(tmp_path.iterdir())
