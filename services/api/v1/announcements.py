"""GET /v1/announcements and /v1/announcements/{id} (with its reactions)."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.problems import NOT_FOUND_RESPONSE, PROBLEM_RESPONSES, not_found
from services.api.v1.cursors import decode_announcement_key, encode_announcement_key
from services.api.v1.deps import LimitsDep, StoreDep
from services.api.v1.params import (
    AnnouncementFilterDep,
    AnnouncementIdPath,
    Cursor,
    Limit,
    page_size,
)
from services.api.v1.schemas import (
    AnnouncementDetail,
    AnnouncementPublic,
    AnnouncementsPage,
    ReactionPublic,
)
from services.frames import to_us
from services.store.filters import AnnouncementKey

router = APIRouter(prefix="/announcements", tags=["announcements"], responses=PROBLEM_RESPONSES)


@router.get("", summary="Announcements, oldest first, with filters and cursor pagination")
async def list_announcements(
    store: StoreDep,
    limits: LimitsDep,
    where: AnnouncementFilterDep,
    cursor: Cursor = None,
    limit: Limit = None,
) -> AnnouncementsPage:
    size = page_size(limit, default=limits.page_size_default, maximum=limits.page_size_max)
    after = decode_announcement_key(cursor) if cursor else None
    rows = await store.list_announcements(where, after=after, limit=size + 1)
    items, more = rows[:size], len(rows) > size
    next_cursor = None
    if more:
        last = items[-1]
        next_cursor = encode_announcement_key(AnnouncementKey(to_us(last.published_at), last.id))
    return AnnouncementsPage(
        items=[AnnouncementPublic.model_validate(a.model_dump()) for a in items],
        next_cursor=next_cursor,
        limit=size,
    )


@router.get(
    "/{announcement_id}",
    summary="One announcement with the latest revision of each of its reactions",
    responses=NOT_FOUND_RESPONSE,
)
async def get_announcement(
    store: StoreDep,
    announcement_id: AnnouncementIdPath,
) -> AnnouncementDetail:
    announcement = await store.get_announcement(announcement_id)
    if announcement is None:
        raise not_found(f"no announcement {announcement_id!r}")
    reactions = await store.reactions_of(announcement_id)
    return AnnouncementDetail.model_validate(
        {
            **announcement.model_dump(),
            "reactions": [ReactionPublic.model_validate(s.model_dump()) for s in reactions],
        }
    )
