"""The outbox statements (`schema.unpublished_revisions`): what was stored and not yet sent."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.events import Signal
from services.store.codec import signal_from_row
from services.store.schema import reaction_revisions, unpublished_revisions


def hold(conn: Connection, stored: Sequence[Signal]) -> None:
    """Record newly stored revisions as not yet published (same transaction as the revisions)."""
    rows = [{"cursor": s.cursor} for s in stored if s.cursor is not None]
    if rows:
        conn.execute(insert(unpublished_revisions), rows)


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
