"""Fan-out of reaction signals to live subscribers (WebSocket, SSE).

Each signal is serialised once, however many clients receive it. Every subscriber has a bounded
queue; one that falls behind is dropped with a reason, so nobody waits for the slowest client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.events import Signal, signal_value
from services.store.filters import ReactionFilter

SLOW_CONSUMER = "slow_consumer"


@dataclass(frozen=True, slots=True)
class AnnouncementTags:
    """What the target/sector/action filters need to know of an announcement."""

    targets: frozenset[str]
    sectors: frozenset[str]
    action: str


def matches(where: ReactionFilter, signal: Signal, tags: AnnouncementTags | None) -> bool:
    """The history API's reaction filter, applied to one live signal."""
    if where.instrument is not None and signal.instrument != where.instrument:
        return False
    if where.horizon is not None and signal.horizon != where.horizon:
        return False
    if where.final is not None and signal.final != where.final:
        return False
    if where.min_abs_z is not None and (
        signal.z_score is None or abs(signal.z_score) < where.min_abs_z
    ):
        return False
    if where.start is not None and signal.anchor_at < where.start:
        return False
    if where.end is not None and signal.anchor_at >= where.end:
        return False
    if where.target is None and where.sector is None and where.action is None:
        return True
    return (
        tags is not None
        and (where.target is None or where.target in tags.targets)
        and (where.sector is None or where.sector in tags.sectors)
        and (where.action is None or where.action == tags.action)
    )


@dataclass(frozen=True, slots=True)
class Message:
    """A signal encoded once for every client: JSON bytes, the same as text (WebSocket), and
    as a whole server-sent event whose id is the signal's cursor (SSE)."""

    signal: Signal
    data: bytes
    text: str
    sse: bytes

    @classmethod
    def of(cls, signal: Signal) -> Message:
        data = signal_value(signal)
        event_id = b"" if signal.cursor is None else b"id: %d\n" % signal.cursor
        return cls(
            signal, data, data.decode(), event_id + b"event: signal\ndata: " + data + b"\n\n"
        )


class Dropped(Exception):
    """The subscriber was disconnected by the hub; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Subscription:
    def __init__(self, hub: SignalHub, where: ReactionFilter, queue_size: int) -> None:
        self.where = where
        self._hub = hub
        self._queue: asyncio.Queue[Message | Dropped] = asyncio.Queue(queue_size)
        self.dropped: str | None = None

    def offer(self, message: Message) -> None:
        if self.dropped is not None:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.drop(SLOW_CONSUMER)

    def drop(self, reason: str) -> None:
        """Disconnect: what is queued is discarded (a client resumes from its last cursor)."""
        self.dropped = reason
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(Dropped(reason))
        self._hub.unsubscribe(self)

    async def next(self) -> Message:
        """The next matching message; raises Dropped once disconnected."""
        item = await self._queue.get()
        if isinstance(item, Dropped):
            raise item
        return item

    def next_nowait(self) -> Message | None:
        if self._queue.empty():
            return None
        item = self._queue.get_nowait()
        if isinstance(item, Dropped):
            raise item
        return item

    def close(self) -> None:
        self._hub.unsubscribe(self)


class SignalHub:
    def __init__(
        self,
        tags: Callable[[str], AnnouncementTags | None],
        *,
        on_drop: Callable[[str], None] | None = None,
    ) -> None:
        self._tags = tags
        self._on_drop = on_drop
        self._subscriptions: set[Subscription] = set()

    def __len__(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, where: ReactionFilter, queue_size: int) -> Subscription:
        subscription = Subscription(self, where, queue_size)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.discard(subscription)
            if subscription.dropped is not None and self._on_drop is not None:
                self._on_drop(subscription.dropped)

    def publish(self, signals: Sequence[Signal]) -> None:
        if not self._subscriptions:
            return
        for signal in signals:
            message = Message.of(signal)
            tags = self._tags(signal.announcement_id)
            for subscription in list(self._subscriptions):
                if matches(subscription.where, signal, tags):
                    subscription.offer(message)
