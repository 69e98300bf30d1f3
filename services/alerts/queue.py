"""The pending alerts of one subscription that the dispatcher holds in memory: one lane per
reaction, so each reaction's alerts go out one at a time and in queue order, while the heads of
all lanes go out together. Rows come from reads of the store, or are offered by this process's
writes as they commit (no read then); while the queue is `behind` (rows may wait in the store past
the ones it holds) offers are refused, and reads catch up. Pure bookkeeping: no I/O, times passed
in."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import replace

from services.alerts.types import OutboxItem, Outcome


class OutboxQueue:
    def __init__(self) -> None:
        self._lanes: dict[str, deque[OutboxItem]] = {}
        self._ready: deque[str] = deque()
        """Lanes whose head is due and not in flight, oldest first."""
        self._waiting: list[tuple[int, str]] = []
        """(due time in µs, lane) of heads waiting for a retry."""
        self._known: set[int] = set()
        """Ids held or settled but not yet written: a later read of the store skips them."""
        self.high_water = 0
        """The highest id taken from the store."""
        self.in_flight = 0
        self._held = 0
        self._reading = False
        self._written_while_reading: set[int] = set()
        self.behind = True
        """The store may hold pending rows past `high_water` that no read or offer brought."""
        self._refused_while_reading = False

    def __len__(self) -> int:
        """Alerts held, in flight included."""
        return self._held

    def read_started(self) -> None:
        """A read of the store begins; `read_ended` ends it with its rows."""
        self._reading = True
        self._refused_while_reading = False

    def read_ended(self, items: Iterable[OutboxItem], *, complete: bool) -> int:
        """The read's rows; `complete`: it returned every pending row it could see, so the
        queue has caught up unless an offer was refused meanwhile. Returns how many were new."""
        added = self.add(items)
        self.behind = not complete or self._refused_while_reading
        self._reading = False  # reads from now on see what was written meanwhile
        self._known -= self._written_while_reading
        self._written_while_reading.clear()
        return added

    def offer(self, items: Iterable[OutboxItem], *, room: int) -> bool:
        """Rows this process just committed, in id order: taken if the queue is up to date and
        has `room` for them (ids at or below `high_water` are skipped: a read brought them);
        otherwise refused, and the queue is `behind` until reads catch up."""
        fresh = [item for item in items if item.id > self.high_water]
        if self.behind or self._held + len(fresh) > room:
            self.fall_behind()
            return False
        self.add(fresh)
        return True

    def fall_behind(self) -> None:
        """Rows were queued in the store that the queue does not hold: reads must catch up."""
        self.behind = True
        self._refused_while_reading |= self._reading

    def add(self, items: Iterable[OutboxItem]) -> int:
        """Append rows read from the store in queue order (ids already known are skipped);
        returns how many were new."""
        added = 0
        for item in items:
            self.high_water = max(self.high_water, item.id)
            if item.id in self._known:
                continue
            self._known.add(item.id)
            added += 1
            self._held += 1
            lane = self._lanes.get(item.reaction_key)
            if lane is None:
                self._lanes[item.reaction_key] = deque([item])
                self._schedule(item)
            else:
                lane.append(item)
        return added

    def take(self, now_us: int, limit: int | None = None) -> list[OutboxItem]:
        """Up to `limit` due heads, now in flight until `settle`d."""
        while self._waiting and self._waiting[0][0] <= now_us:
            self._ready.append(heapq.heappop(self._waiting)[1])
        taken: list[OutboxItem] = []
        while self._ready and (limit is None or len(taken) < limit):
            taken.append(self._lanes[self._ready.popleft()][0])
        self.in_flight += len(taken)
        return taken

    def next_due_us(self) -> int | None:
        """When the earliest head waiting for a retry is due (None: none waits)."""
        return self._waiting[0][0] if self._waiting else None

    def settle(self, outcome: Outcome) -> None:
        """The attempt on a lane's head is over: a retry stays at the head until it is due;
        delivered or dead, the next alert of the reaction becomes the head."""
        self.in_flight -= 1
        key = outcome.item.reaction_key
        lane = self._lanes[key]
        if outcome.verdict == "retry":
            lane[0] = replace(
                outcome.item,
                attempts=outcome.item.attempts + 1,
                next_attempt_at_us=outcome.next_attempt_at_us,
            )
            self._schedule(lane[0])
            return
        lane.popleft()
        self._held -= 1
        if lane:
            self._schedule(lane[0])
        else:
            del self._lanes[key]

    def forget(self, ids: Iterable[int]) -> None:
        """These rows are written delivered or dead: the store will not return them again,
        except to a read that began before (it may still see them pending)."""
        if self._reading:
            self._written_while_reading.update(ids)
        else:
            self._known.difference_update(ids)

    def _schedule(self, head: OutboxItem) -> None:
        if head.next_attempt_at_us > 0:
            heapq.heappush(self._waiting, (head.next_attempt_at_us, head.reaction_key))
        else:
            self._ready.append(head.reaction_key)
