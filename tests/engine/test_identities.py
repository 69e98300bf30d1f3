"""A window's name texts are written once and read back for each of its revisions: the same
texts as joined from its names, for windows named before and after the names grew, and none
once the windows are too many (the writer then joins the names per revision)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from services.engine.confounders import ConfounderCache
from services.engine.emission import Revisions
from services.engine.encoding import FLOAT_FIELDS, TIMES, RevisionColumns, encoded
from services.engine.identities import window_texts
from services.engine.names import Coded, Interned
from services.events import signal_value


def expected(aid: str, inst: str, horizon: str) -> tuple[str, str]:
    return (
        f"{aid}|{inst}|{horizon}|",
        f'","cursor":null,"announcement_id":"{aid}","instrument":"{inst}","horizon":"{horizon}"'
        ',"revision":',
    )


def test_texts_of_windows_named_before_and_after_the_names_grew() -> None:
    aids, insts, horizons = Interned(["a1"]), Interned(["X", 'Q"\\é']), Interned(["5m", "1d"])
    first = window_texts(
        [Coded(aids, np.asarray([0, 0, 0]))],
        [Coded(insts, np.asarray([1, 0, 1]))],
        [Coded(horizons, np.asarray([1, 0, 1]))],
    )
    assert first is not None
    assert list(zip(*(s.to_list() for s in first), strict=True)) == [
        expected("a1", 'Q\\"\\\\é', "1d"),
        expected("a1", "X", "5m"),
        expected("a1", 'Q\\"\\\\é', "1d"),
    ]
    aids.code("a2")
    later = window_texts(
        [Coded(aids, np.asarray([1, 0]))],
        [Coded(insts, np.asarray([0, 0]))],
        [Coded(horizons, np.asarray([0, 0]))],
    )
    assert later is not None
    assert list(zip(*(s.to_list() for s in later), strict=True)) == [
        expected("a2", "X", "5m"),
        expected("a1", "X", "5m"),
    ]


def test_names_of_other_interned_have_no_window_texts() -> None:
    codes = np.asarray([0])
    one, other = Interned(["a"]), Interned(["a"])
    assert (
        window_texts(
            [Coded(one, codes), Coded(other, codes)],
            [Coded(one, codes)] * 2,
            [Coded(one, codes)] * 2,
        )
        is None
    )


def test_past_the_limit_revisions_are_written_from_their_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("services.engine.identities.LIMIT", 4)
    aids, insts, horizons = Interned(), Interned(), Interned()

    def part(windows: list[tuple[str, str, str]]) -> RevisionColumns:
        n = len(windows)
        numbers = {name: np.full(n, 1_751_846_400_000_000 + k) for k, name in enumerate(TIMES)}
        numbers |= {name: np.linspace(-1.0, 2.5, n) for name in FLOAT_FIELDS}
        numbers |= {
            "significant": np.full(n, np.nan),
            "direction": np.zeros(n, dtype=np.int64),
            "data_granularity": np.full(n, 3),
        }
        return RevisionColumns(
            Coded(insts, insts.codes(w[1] for w in windows)),
            Coded(aids, aids.codes(w[0] for w in windows)),
            Coded(horizons, horizons.codes(w[2] for w in windows)),
            np.arange(1, n + 1, dtype=np.int64),
            np.zeros(n, dtype=np.bool_),
            np.zeros(n, dtype=np.bool_),
            numbers,
            [ConfounderCache(0, ())] * n,
            datetime(2026, 1, 2, tzinfo=UTC),
        )

    few = part([("a", "X", "5m"), ("a", "Y", "5m"), ("a", "X", "5m")])
    many = part([("b", f"I{k}", "1d") for k in range(6)])
    for batch in (few, many, few):
        assert encoded([batch]) == [signal_value(s) for s in Revisions(columns=batch)]
    names = ([few.announcement_ids], [few.instruments], [few.horizons])
    assert window_texts(*names) is None  # too many windows: no longer kept
