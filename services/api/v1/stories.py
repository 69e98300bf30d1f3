"""GET /v1/stories/{story_id}: one policy as it arrived from every outlet, with its reactions."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from services.api.problems import NOT_FOUND_RESPONSE, PROBLEM_RESPONSES, not_found
from services.api.v1.deps import StoreDep
from services.api.v1.params import AnnouncementIdPath
from services.api.v1.schemas import AnnouncementPublic, ReactionPublic
from services.events import Announcement

router = APIRouter(prefix="/stories", tags=["announcements"], responses=PROBLEM_RESPONSES)


class StoryPublic(BaseModel):
    """The story's first announcement (novel) and its echoes; reactions are the novel one's
    only, computed once for the whole story."""

    story_id: str
    first_seen_at: datetime
    novel: AnnouncementPublic
    echoes: list[AnnouncementPublic]
    reactions: list[ReactionPublic]


@router.get(
    "/{story_id}",
    summary="One story: its novel announcement, echoes and reactions",
    responses=NOT_FOUND_RESPONSE,
)
async def get_story(
    store: StoreDep,
    story_id: AnnouncementIdPath,
) -> StoryPublic:
    members = await store.story(story_id)
    novel = next((a for a in members if a.id == story_id), None)
    if novel is None:
        raise not_found(f"no story {story_id!r}")
    reactions = await store.reactions_of(story_id)

    def public(a: Announcement) -> AnnouncementPublic:
        return AnnouncementPublic.model_validate(a.model_dump())

    return StoryPublic(
        story_id=story_id,
        first_seen_at=novel.published_at,
        novel=public(novel),
        echoes=[public(a) for a in members if a.id != story_id],
        reactions=[ReactionPublic.model_validate(s.model_dump()) for s in reactions],
    )
