"""The seam between stored revisions and live ones: no gap, no repeat."""

from __future__ import annotations

from services.api.hub import SignalHub
from services.api.resume import TagCache, messages_after
from services.events import Announcement, Signal
from services.store.filters import ReactionFilter
from tests.factories import signal


class Log:
    """A revision log in memory: the cursor is the position in `revisions`."""

    def __init__(self) -> None:
        self.revisions: list[Signal] = []

    def append(self, *signals: Signal) -> list[Signal]:
        stored = [
            s.model_copy(update={"cursor": len(self.revisions) + i + 1})
            for i, s in enumerate(signals)
        ]
        self.revisions += stored
        return stored

    async def revisions_after(self, cursor: int, *, limit: int) -> list[Signal]:
        return self.revisions[cursor : cursor + limit]

    async def get_announcement(self, announcement_id: str) -> Announcement | None:
        return None


async def test_stored_then_live_without_gap_or_repeat() -> None:
    log = Log()
    hub = SignalHub(lambda _: None)
    log.append(*(signal(revision=r) for r in range(1, 8)))
    subscription = hub.subscribe(ReactionFilter(), queue_size=100)
    # committed after the subscription, before the log read: both the log and the hub have it
    hub.publish(log.append(signal(revision=8)))
    stream = messages_after(subscription, log, TagCache(), cursor=3, page_size=2)

    received = [(await anext(stream)).signal.cursor for _ in range(5)]
    hub.publish(log.append(signal(revision=9), signal(revision=10)))
    received += [(await anext(stream)).signal.cursor for _ in range(2)]

    assert received == [4, 5, 6, 7, 8, 9, 10]
    assert subscription.next_nowait() is None


async def test_without_a_cursor_only_live_signals_arrive() -> None:
    log = Log()
    log.append(signal(revision=1))
    hub = SignalHub(lambda _: None)
    subscription = hub.subscribe(ReactionFilter(final=True), queue_size=10)
    stream = messages_after(subscription, log, TagCache(), cursor=None)
    hub.publish(log.append(signal(revision=2), signal(revision=3, final=True)))
    message = await anext(stream)
    assert (message.signal.cursor, message.signal.final) == (3, True)
    assert message.sse.startswith(b"id: 3\nevent: signal\ndata: {")
