"""Alert subscriptions and the outbox, on the same database as the revisions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, func, insert, select, text, update
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
    enqueue_for,
)
from services.store.codec import signal_from_row
from services.store.schema import reaction_revisions

LAST_ERRORS_KEPT = 5
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
        """Delete the subscription and its outbox; False if there was none."""
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
                queued += await enqueue_for(conn, where, [signal_from_row(row) for row in page])
                after = page[-1]["cursor"]
            await conn.execute(
                update(alert_subscriptions)
                .where(alert_subscriptions.c.id == subscription_id)
                .values(enabled=True, disabled_reason=None, consecutive_dead=0)
            )
        if queued:
            self.written.set()
        return queued

    # -- the dispatcher's side -------------------------------------------------------------------

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
        o = alert_outbox.c
        by_subscription: dict[str, list[Outcome]] = {}
        for x in outcomes:
            by_subscription.setdefault(x.item.subscription_id, []).append(x)
        # a row retried and then delivered within one batch ends as its last outcome says
        final = list({x.item.id: x for x in outcomes}.values())
        async with self._write_lock, self._engine.begin() as conn:
            for verdict, state in (("delivered", DELIVERED), ("dead", DEAD), ("retry", PENDING)):
                params = [
                    {
                        "b_id": x.item.id,
                        "b_state": state,
                        "b_attempts": x.item.attempts + 1,
                        "b_next_at": x.next_attempt_at_us,
                        "b_error": x.error,
                        "b_delivered_at": x.at_us if verdict == "delivered" else None,
                    }
                    for x in final
                    if x.verdict == verdict
                ]
                if params:
                    stmt = (
                        update(alert_outbox)
                        .where(o.id == bindparam("b_id"))
                        .values(
                            state=bindparam("b_state"),
                            attempts=bindparam("b_attempts"),
                            next_attempt_at_us=bindparam("b_next_at"),
                            last_error=bindparam("b_error"),
                            delivered_at_us=bindparam("b_delivered_at"),
                        )
                    )
                    await conn.execute(stmt, params)
            rows = await conn.execute(
                select(alert_subscriptions).where(
                    alert_subscriptions.c.id.in_(list(by_subscription))
                )
            )
            updated: dict[str, StoredSubscription] = {}
            for row in rows:
                sub = _subscription(row)
                updated[sub.id], values = _after(sub, by_subscription[sub.id], disable_after_dead)
                await conn.execute(
                    update(alert_subscriptions)
                    .where(alert_subscriptions.c.id == sub.id)
                    .values(**values)
                )
        return updated

    async def prune_delivered(self, *, before_us: int) -> int:
        """Delete the rows delivered before `before_us`; returns how many."""
        o = alert_outbox.c
        stmt = delete(alert_outbox).where(o.state == DELIVERED, o.delivered_at_us < before_us)
        async with self._write_lock, self._engine.begin() as conn:
            return int((await conn.execute(stmt)).rowcount)

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
