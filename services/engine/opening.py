"""The windows announcements open on the instruments of one calendar, laid out for many
announcements at once.

An announcement opens one window per horizon that ends inside the calendar, the same on every
instrument of that calendar. Anchoring, window ends and session fractions are computed for all
the announcements given in a few array operations over the calendar's segments (calendar.py),
and their windows' static columns kept as one block: each announcement's `WindowSpans` points
at its rows in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from services.engine.book import WindowKey
from services.engine.calendar import SessionCalendar
from services.engine.config import Horizon
from services.engine.windows import CODED, STATIC, WindowMeta, WindowStore
from services.events import Announcement
from services.frames import to_us

_US = 1_000_000
Columns = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True, slots=True)
class WindowSpans:
    """The windows an announcement opens on the instruments of one calendar."""

    anchor_us: int
    horizons: tuple[str, ...]
    beyond_calendar: int
    """Horizons (or the anchor itself) the calendar does not reach."""
    keys: tuple[WindowKey, ...] = ()
    metas: tuple[WindowMeta, ...] = ()
    """(announcement id, horizon) of each window, and as its identity in the store (one
    object shared by the windows on every instrument of the calendar)."""
    block: Columns | None = None
    """The STATIC and CODED columns of the windows of the announcements laid out with this
    one; its windows are rows `first` to `first + len(horizons)`."""
    first: int = 0


def horizon_spans(
    cal: SessionCalendar,
    announcements: Sequence[Announcement],
    horizons: Sequence[Horizon],
    store: WindowStore,
) -> list[WindowSpans]:
    """The windows each of `announcements` opens on an instrument of `cal`, one per horizon
    that ends inside the calendar; their announcement ids and horizons coded in `store`."""
    n, per = len(announcements), len(horizons)
    published = np.fromiter((to_us(a.published_at) for a in announcements), np.int64, n)
    day = np.fromiter((a.published_at_precision == "day" for a in announcements), np.bool_, n)
    anchors_us, sessions, at_opens, anchored = cal.anchors(published, day)
    # each (announcement, horizon)'s end, and whether the calendar reaches it
    duration_us = np.asarray([(h.duration_s or 0) * _US for h in horizons], dtype=np.int64)
    intraday, closing = duration_us.nonzero()[0], (duration_us == 0).nonzero()[0]
    end_us = np.empty((n, per), dtype=np.int64)
    reached = np.empty((n, per), dtype=np.bool_)
    each_duration_us = np.zeros((n, 1), dtype=np.int64) + duration_us[intraday]
    ends, inside = cal.add_trading(np.repeat(anchors_us, len(intraday)), each_duration_us.ravel())
    end_us[:, intraday], reached[:, intraday] = ends.reshape(n, -1), inside.reshape(n, -1)
    after = np.asarray([h.sessions_after or 0 for h in horizons], dtype=np.int64)[closing]
    session_of_end = sessions[:, None] + after
    reached[:, closing] = session_of_end < len(cal.labels)
    end_us[:, closing] = cal.closes_us[np.minimum(session_of_end, len(cal.labels) - 1)]
    reached &= anchored[:, None]
    # one row per window, announcement by announcement
    rows = reached.ravel().nonzero()[0]
    of, horizon = np.divmod(rows, per)
    anchor_us, end_us = anchors_us[of], end_us.ravel()[rows]
    at_open = at_opens[of]
    opened = [a for a, ok in zip(announcements, anchored.tolist(), strict=True) if ok]
    ids = np.zeros(n, dtype=np.int64)
    ids[anchored] = store.announcement_ids.codes(a.id for a in opened)
    names = [h.name for h in horizons]
    block = {
        "anchor_us": anchor_us,
        # a window that starts at an open takes the opening print; the base is before it
        "base_cut_us": anchor_us - at_open,
        "end_us": end_us,
        "duration_us": duration_us[horizon],
        "at_open": at_open,
        "session": sessions[of],
        "sessions_k": cal.sessions_spanned(anchor_us, end_us),
        "announcement_code": ids[of],
        "horizon_code": store.horizons.codes(names)[horizon],
    }
    # each announcement's horizons reached (the same tuple for the same ones)
    counts = reached.sum(axis=1).tolist()
    kept: dict[bytes, tuple[str, ...]] = {}
    out: list[WindowSpans] = []
    first = 0
    for k, ann in enumerate(announcements):
        if not anchored[k]:
            out.append(WindowSpans(0, (), beyond_calendar=1))
            continue
        mask = reached[k]
        found = kept.get(mask.tobytes())
        if found is None:
            found = kept[mask.tobytes()] = tuple(
                h for h, ok in zip(names, mask.tolist(), strict=True) if ok
            )
        keys = tuple((ann.id, h) for h in found)
        metas = tuple(WindowMeta(a, h) for a, h in keys)
        out.append(
            WindowSpans(int(anchors_us[k]), found, per - counts[k], keys, metas, block, first)
        )
        first += counts[k]
    return out


def static_columns(opening: Sequence[WindowSpans]) -> Columns:
    """The STATIC and CODED columns of the windows of each of `opening`, one after the other,
    taken from their blocks (the distinct blocks joined once where there are several)."""
    blocks = {id(spans.block): spans.block for spans in opening if spans.block is not None}
    sizes = np.asarray([len(block["anchor_us"]) for block in blocks.values()], dtype=np.int64)
    offset = dict(zip(blocks, (sizes.cumsum() - sizes).tolist(), strict=True))
    # each window's row: its spans' first row in the joined blocks, plus its place among them
    counts = np.asarray([len(spans.horizons) for spans in opening], dtype=np.int64)
    firsts = [offset[id(spans.block)] + spans.first for spans in opening]
    rows = np.repeat(np.asarray(firsts, dtype=np.int64) - (counts.cumsum() - counts), counts)
    rows += np.arange(len(rows))
    names = (*STATIC, *CODED)
    if len(blocks) == 1:
        (block,) = blocks.values()
        return {name: block[name][rows] for name in names}
    return {name: np.concatenate([b[name] for b in blocks.values()])[rows] for name in names}
