"""The outbox statements (`schema.unpublished_revisions`): what was stored and not yet sent."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import cache

from sqlalchemy import Connection, Insert, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.events import Signal
from services.store.codec import signal_from_row
from services.store.schema import reaction_revisions, unpublished_revisions
from services.store.writes import cursor_list, revisions_at


def hold(conn: Connection, stored: Sequence[Signal]) -> None:
    """Record newly stored revisions as not yet published (same transaction as the revisions)."""
    if stored:
        dialect = conn.dialect.name
        conn.execute(_hold(dialect), {"cursors": cursor_list(dialect, stored)})


@cache
def _hold(dialect: str) -> Insert:
    """One statement whatever the count (a row of parameters each cost more than the rows)."""
    held = select(reaction_revisions.c.cursor).where(revisions_at(dialect))
    return insert(unpublished_revisions).from_select(["cursor"], held)


async def pending(conn: AsyncConnection, *, limit: int) -> list[Signal]:
    """The oldest `limit` revisions not yet published, in cursor order."""
    query = (
        select(reaction_revisions)
        .join(unpublished_revisions, unpublished_revisions.c.cursor == reaction_revisions.c.cursor)
        .order_by(reaction_revisions.c.cursor)
        .limit(limit)
    )
    rows = (await conn.execute(query)).mappings().all()
    return [signal_from_row(dict(row)) for row in rows]


def release(conn: Connection, cursors: Collection[int]) -> None:
    """The broker acknowledged these revisions."""
    if cursors:
        conn.execute(
            delete(unpublished_revisions).where(unpublished_revisions.c.cursor.in_(list(cursors)))
        )
