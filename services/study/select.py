"""Which announcements a study takes, their day 0 (the §4 anchor session) and confounders."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.engine.calendar import SessionCalendar
from services.engine.exceptions import CalendarError
from services.engine.registry import Instrument, InstrumentRegistry
from services.events import Announcement
from services.frames import to_us
from services.ingest.stories import is_echo
from services.study.core import StudyEvent
from services.study.params import StudyParams


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Narrows the announcements studied (confounders are looked for among all of them)."""

    action: str | None = None
    sector: str | None = None
    target: str | None = None
    start: datetime | None = None
    """Inclusive bound on `published_at`."""
    end: datetime | None = None
    """Exclusive bound on `published_at`."""

    def admits(self, a: Announcement) -> bool:
        return (
            (self.action is None or a.action == self.action)
            and (self.sector is None or self.sector in a.sectors)
            and (self.target is None or self.target in a.targets)
            and (self.start is None or a.published_at >= self.start)
            and (self.end is None or a.published_at < self.end)
        )


def anchor_session(a: Announcement, calendar: SessionCalendar) -> int | None:
    """The session a reaction window of `a` opens in (DESIGN §4), None beyond the calendar."""
    try:
        _, session, _ = calendar.anchor(
            to_us(a.published_at), day_precision=a.published_at_precision == "day"
        )
    except CalendarError:
        return None
    return session


def study_events(
    announcements: Iterable[Announcement],
    instrument: Instrument,
    registry: InstrumentRegistry,
    calendar: SessionCalendar,
    params: StudyParams,
    where: EventFilter,
) -> list[StudyEvent]:
    """The events of the study, by day 0 then id; each flagged when another announcement routed
    to the instrument anchors inside its event window. A story's echoes (the same policy from
    another outlet) are neither events nor confounders: the story counts once."""
    anchored: dict[str, tuple[int, Announcement]] = {}
    for a in announcements:
        if a.id in anchored or is_echo(a) or instrument not in registry.route(a):
            continue
        session = anchor_session(a, calendar)
        if session is not None:
            anchored[a.id] = (session, a)
    by_session = sorted((s, i) for i, (s, _) in anchored.items())
    keys = [s for s, _ in by_session]
    t1, t2 = params.window
    events: list[StudyEvent] = []
    for session, ann_id in by_session:
        if not where.admits(anchored[ann_id][1]):
            continue
        # the event itself is among the anchors in its window (ids are unique): any more are others
        lo, hi = bisect_left(keys, session + t1), bisect_right(keys, session + t2)
        events.append(StudyEvent(ann_id, session, hi - lo > 1))
    return events
