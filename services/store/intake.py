"""What the intake keeps beside the reactions: announcements accepted by the write API (for
idempotent repeats), source items kept for a person to complete (`unrouted`), and each source's
position so a restart never produces an item twice. Same database and engine as the store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from services.events import Announcement
from services.frames import from_us, to_us
from services.store.schema import intake_items, source_positions, submissions

IntakeStatus = Literal["unrouted", "completed"]
"""completed: an announcement with the draft's id was entered since."""


@dataclass(frozen=True, slots=True)
class SourcePosition:
    etag: str | None = None
    last_modified: str | None = None
    seen_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IntakeItem:
    source: str
    item_id: str
    status: IntakeStatus
    published_at: datetime
    draft: dict[str, Any]
    seen_at: datetime


class IntakeStore:
    """Over the store's engine (`SqlStore.engine`): the store's migrations create its tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _insert(self, table: Table) -> Any:
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    async def submission(self, announcement_id: str) -> Announcement | None:
        stmt = select(submissions.c.body).where(submissions.c.id == announcement_id)
        async with self._engine.connect() as conn:
            body = (await conn.execute(stmt)).scalar_one_or_none()
        return Announcement.model_validate_json(body) if body is not None else None

    async def record_submission(self, announcement: Announcement, *, now: datetime) -> None:
        row = {
            "id": announcement.id,
            "body": announcement.model_dump_json(),
            "submitted_at_us": to_us(now),
        }
        stmt = self._insert(submissions).values(row).on_conflict_do_nothing()
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def keep_unrouted(
        self,
        source: str,
        item_id: str,
        published_at: datetime,
        draft: dict[str, Any],
        *,
        now: datetime,
    ) -> None:
        row = {
            "source": source,
            "item_id": item_id,
            "status": "unrouted",
            "announcement_id": str(draft["id"]),
            "published_at_us": to_us(published_at),
            "draft": json.dumps(draft, sort_keys=True),
            "seen_at_us": to_us(now),
        }
        stmt = self._insert(intake_items).values(row).on_conflict_do_nothing()
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def complete(self, announcement_id: str) -> None:
        """Unrouted items whose draft has this id are done: it was entered."""
        c = intake_items.c
        stmt = (
            update(intake_items)
            .where(c.announcement_id == announcement_id, c.status == "unrouted")
            .values(status="completed")
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def items(self, status: IntakeStatus, *, limit: int) -> list[IntakeItem]:
        """Oldest publication first."""
        c = intake_items.c
        stmt = (
            select(intake_items)
            .where(c.status == status)
            .order_by(c.published_at_us, c.source, c.item_id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            IntakeItem(
                source=r["source"],
                item_id=r["item_id"],
                status=r["status"],
                published_at=from_us(r["published_at_us"]),
                draft=json.loads(r["draft"]),
                seen_at=from_us(r["seen_at_us"]),
            )
            for r in rows
        ]

    async def position(self, source: str) -> SourcePosition:
        stmt = select(source_positions).where(source_positions.c.source == source)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().one_or_none()
        if row is None:
            return SourcePosition()
        return SourcePosition(row["etag"], row["last_modified"], tuple(json.loads(row["seen_ids"])))

    async def save_position(self, source: str, position: SourcePosition, *, now: datetime) -> None:
        row = {
            "source": source,
            "etag": position.etag,
            "last_modified": position.last_modified,
            "seen_ids": json.dumps(list(position.seen_ids)),
            "updated_at_us": to_us(now),
        }
        stmt = self._insert(source_positions).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=["source"], set_={k: v for k, v in row.items() if k != "source"}
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)
