"""Alert subscriptions and the outbox, on the same database as the revisions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import TextClause, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.alerts.filters import AlertFilter
from services.alerts.types import OutboxCounts, OutboxItem, Outcome, StoredSubscription
from services.store.alert_outbox import (
    DEAD,
    DELIVERED,
    IS_PENDING,
    PENDING,
    alert_outbox,
    alert_subscriptions,
    delivered_before,
    enqueue_for,
)
from services.store.codec import signal_from_row
from services.store.schema import reaction_revisions

log = logging.getLogger(__name__)

LAST_ERRORS_KEPT = 5
Queued = Callable[[list[OutboxItem], Collection[str]], None]
"""Alerts just committed, and the subscriptions that got more than those (see `queued`)."""
_DISPATCH_LOCK_KEY = 0x4D52_414C  # "MRAL": one dispatcher at a time per PostgreSQL database
_REPLAY_PAGE = 1000


def _subscription(row: Any) -> StoredSubscription:
    return StoredSubscription(
        id=row.id,
        url=row.url,
        filter=AlertFilter.model_validate_json(row.filter),
        format=row.format,
        secret=row.secret,
        created_at_us=row.created_at_us,
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        consecutive_dead=row.consecutive_dead,
        last_errors=orjson.loads(row.last_errors),
    )


class AlertStore:
    def __init__(self, engine: AsyncEngine, write_lock: asyncio.Lock) -> None:
        """`write_lock`: the store's, so alert writes and batch writes never interleave."""
        self._engine = engine
        self._write_lock = write_lock
        self.written = asyncio.Event()
        """Set when a batch queued alerts (the dispatcher of this process waits on it)."""
        self.on_queued: Queued | None = None
        """Told what this process queued, once committed (the running dispatcher)."""

    def queued(self, items: list[OutboxItem], *, subscriptions: Collection[str] = ()) -> None:
        """Alerts this process just committed to the outbox, in id order; `subscriptions` got
        more than `items` (a replay, too many to hold): their pending rows are to be read."""
        if not items and not subscriptions:
            return
        if self.on_queued is not None:
            try:
                self.on_queued(items, subscriptions)
            except Exception:  # the write is committed: its rows will be read instead
                log.exception("alert offer failed")
        self.written.set()

    # -- subscriptions ---------------------------------------------------------------------------

    async def add_subscription(self, subscription: StoredSubscription) -> None:
        row = {
            "id": subscription.id,
            "url": subscription.url,
            "filter": subscription.filter.model_dump_json(),
            "format": subscription.format,
            "secret": subscription.secret,
            "created_at_us": subscription.created_at_us,
            "enabled": subscription.enabled,
            "disabled_reason": subscription.disabled_reason,
            "consecutive_dead": subscription.consecutive_dead,
            "last_errors": orjson.dumps(subscription.last_errors).decode(),
        }
        async with self._write_lock, self._engine.begin() as conn:
            await conn.execute(insert(alert_subscriptions), row)

    async def subscriptions(self, *, enabled_only: bool = False) -> list[StoredSubscription]:
        stmt = select(alert_subscriptions).order_by(alert_subscriptions.c.created_at_us)
        if enabled_only:
            stmt = stmt.where(alert_subscriptions.c.enabled == True)  # noqa: E712
        async with self._engine.connect() as conn:
            return [_subscription(r) for r in await conn.execute(stmt)]

    async def subscription(self, subscription_id: str) -> StoredSubscription | None:
        stmt = select(alert_subscriptions).where(alert_subscriptions.c.id == subscription_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _subscription(row)

    async def remove_subscription(self, subscription_id: str) -> bool:
        """Delete the subscription and its outbox (in this order, as `record` locks them);
        False if there was none."""
        async with self._write_lock, self._engine.begin() as conn:
            gone = await conn.execute(
                delete(alert_subscriptions).where(alert_subscriptions.c.id == subscription_id)
            )
            await conn.execute(
                delete(alert_outbox).where(alert_outbox.c.subscription_id == subscription_id)
            )
        return bool(gone.rowcount)

    async def counts(self, subscription_id: str | None = None) -> OutboxCounts:
        o = alert_outbox.c
        stmt = select(o.state, func.count()).group_by(o.state)
        if subscription_id is not None:
            stmt = stmt.where(o.subscription_id == subscription_id)
        async with self._engine.connect() as conn:
            by_state: dict[str, int] = {state: n for state, n in await conn.execute(stmt)}  # noqa: C416
        return OutboxCounts(
            by_state.get(PENDING, 0), by_state.get(DELIVERED, 0), by_state.get(DEAD, 0)
        )

    async def backlog(self) -> int:
        """Pending rows of every subscription."""
        stmt = select(func.count()).where(IS_PENDING)
        async with self._engine.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def disabled_count(self) -> int:
        c = alert_subscriptions.c
        stmt = select(func.count()).where(c.enabled == False)  # noqa: E712
        async with self._engine.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def replay(self, subscription_id: str, from_cursor: int, to_cursor: int | None) -> int:
        """Queue again every stored revision with `from_cursor <= cursor <= to_cursor` that the
        subscription's filter matches, and enable it again; returns how many were queued."""
        r = reaction_revisions.c
        queued = 0
        after = from_cursor - 1
        async with self._write_lock, self._engine.begin() as conn:
            sub = (
                await conn.execute(
                    select(alert_subscriptions).where(alert_subscriptions.c.id == subscription_id)
                )
            ).first()
            if sub is None:
                return 0
            where = [(subscription_id, AlertFilter.model_validate_json(sub.filter))]
            while True:
                stmt = select(reaction_revisions).where(r.cursor > after)
                if to_cursor is not None:
                    stmt = stmt.where(r.cursor <= to_cursor)
                result = await conn.execute(stmt.order_by(r.cursor).limit(_REPLAY_PAGE))
                page: list[Any] = list(result.mappings().all())
                if not page:
                    break
                signals = [signal_from_row(row) for row in page]
                queued += len(await conn.run_sync(enqueue_for, where, signals))
                after = page[-1]["cursor"]
            await conn.execute(
                update(alert_subscriptions)
                .where(alert_subscriptions.c.id == subscription_id)
                .values(enabled=True, disabled_reason=None, consecutive_dead=0)
            )
        self.queued([], subscriptions=[subscription_id] if queued else [])
        return queued

    # -- the dispatcher's side -------------------------------------------------------------------

    def _beside_revision_writes(self) -> contextlib.AbstractAsyncContextManager[object]:
        """What the dispatcher's writes hold: the store's write lock on SQLite (one writer at a
        time); nothing on PostgreSQL, whose row locks let them run beside the revision writes
        (which only add outbox rows), so those never wait for outcomes or a pruning scan."""
        if self._engine.dialect.name == "postgresql":
            return contextlib.nullcontext()
        return self._write_lock

    async def pending(
        self, subscription_id: str, *, limit: int, after_id: int = 0
    ) -> list[OutboxItem]:
        """The oldest pending rows of a subscription past `after_id`, in queue order."""
        o = alert_outbox.c
        stmt = (
            select(
                o.id,
                o.subscription_id,
                o.signal_id,
                o.reaction_key,
                o.body,
                o.emitted_at_us,
                o.attempts,
                o.next_attempt_at_us,
            )
            .where(o.subscription_id == subscription_id, IS_PENDING, o.id > after_id)
            .order_by(o.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(stmt)
            return [
                OutboxItem(r[0], r[1], r[2], r[3], r[4].encode(), r[5], r[6], r[7]) for r in rows
            ]

    async def record(
        self, outcomes: Sequence[Outcome], *, disable_after_dead: int
    ) -> dict[str, StoredSubscription]:
        """Store what attempts did, and each subscription's run of dead letters, in one
        transaction; disables a subscription after `disable_after_dead` in a row. Returns the
        subscriptions concerned as updated (a removed one is absent)."""
        if not outcomes:
            return {}
        by_subscription: dict[str, list[Outcome]] = {}
        for x in outcomes:
            by_subscription.setdefault(x.item.subscription_id, []).append(x)
        # a row retried and then delivered within one batch ends as its last outcome says
        final = {x.item.id: x for x in outcomes}.values()
        batch = orjson.dumps([_outcome_row(x) for x in final]).decode()
        # subscriptions are locked first, in id order, as their removal does
        async with self._beside_revision_writes(), self._engine.begin() as conn:
            locked = (
                select(alert_subscriptions)
                .where(alert_subscriptions.c.id.in_(list(by_subscription)))
                .order_by(alert_subscriptions.c.id)
                .with_for_update()
            )
            rows = (await conn.execute(locked)).all()
            await conn.execute(_record_outcomes(self._engine.dialect.name), {"rows": batch})
            updated: dict[str, StoredSubscription] = {}
            for row in rows:
                sub = _subscription(row)
                updated[sub.id], values = _after(sub, by_subscription[sub.id], disable_after_dead)
                if updated[sub.id] == sub:
                    continue  # deliveries only, after deliveries: nothing to write
                await conn.execute(
                    update(alert_subscriptions)
                    .where(alert_subscriptions.c.id == sub.id)
                    .values(**values)
                )
        return updated

    async def prune_delivered(self, *, before_us: int) -> int:
        """Delete the rows delivered before `before_us`; returns how many."""
        async with self._beside_revision_writes(), self._engine.begin() as conn:
            return int((await conn.execute(delivered_before(before_us))).rowcount)

    @asynccontextmanager
    async def dispatch_lease(self) -> AsyncIterator[bool]:
        """Whether this process may dispatch: on PostgreSQL one process at a time holds a
        session advisory lock (released if the process dies); SQLite is one process's file."""
        if self._engine.dialect.name != "postgresql":
            yield True
            return
        async with self._engine.connect() as conn:
            held = bool(
                (
                    await conn.execute(
                        text("SELECT pg_try_advisory_lock(:k)"), {"k": _DISPATCH_LOCK_KEY}
                    )
                ).scalar_one()
            )
            try:
                yield held
            finally:
                if held:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": _DISPATCH_LOCK_KEY}
                    )
                await conn.commit()


_STATES = {"delivered": DELIVERED, "dead": DEAD, "retry": PENDING}


_FIELDS = ("id", "state", "attempts", "next_at", "error", "delivered_at")


def _outcome_row(x: Outcome) -> dict[str, Any]:
    """One row of `_record_outcomes`."""
    delivered_at = x.at_us if x.verdict == "delivered" else None
    values = (x.item.id, _STATES[x.verdict], x.item.attempts + 1, x.next_attempt_at_us, x.error)
    return dict(zip(_FIELDS, (*values, delivered_at), strict=True))


def _record_outcomes(dialect: str) -> TextClause:
    """One UPDATE for a whole batch of outcomes, their rows passed as one JSON array."""
    if dialect == "postgresql":
        rows = (
            "jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id bigint, state text, attempts int,"
            " next_at bigint, error text, delivered_at bigint)"
        )
    else:
        picked = ", ".join(f"json_extract(value, '$.{f}') AS {f}" for f in _FIELDS)
        rows = f"(SELECT {picked} FROM json_each(:rows)) AS v"
    return text(
        "UPDATE alert_outbox SET state = v.state, attempts = v.attempts,"
        " next_attempt_at_us = v.next_at, last_error = v.error, delivered_at_us = v.delivered_at"
        f" FROM {rows} WHERE alert_outbox.id = v.id"
    )


def _after(
    sub: StoredSubscription, outcomes: list[Outcome], disable_after_dead: int
) -> tuple[StoredSubscription, dict[str, Any]]:
    """The subscription after these outcomes (its run of dead letters, its latest errors,
    disabled or not), and the column values that say so."""
    dead_run, errors, reason = sub.consecutive_dead, list(sub.last_errors), None
    for x in sorted(outcomes, key=lambda x: x.item.id):
        if x.verdict == "delivered":
            dead_run = 0
        elif x.verdict == "dead":
            dead_run += 1
        if x.error is not None:
            errors.append(f"{x.item.signal_id}: {x.error}")
    if sub.enabled and dead_run >= disable_after_dead:
        reason = f"disabled after {dead_run} consecutive dead letters; last: {errors[-1]}"
    values: dict[str, Any] = {
        "consecutive_dead": dead_run,
        "last_errors": orjson.dumps(errors[-LAST_ERRORS_KEPT:]).decode(),
    }
    if reason is not None:
        values |= {"enabled": False, "disabled_reason": reason}
    updated = replace(
        sub,
        consecutive_dead=dead_run,
        last_errors=errors[-LAST_ERRORS_KEPT:],
        enabled=sub.enabled and reason is None,
        disabled_reason=reason or sub.disabled_reason,
    )
    return updated, values
