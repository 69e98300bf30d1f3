"""GET /v1/reactions (JSON, CSV or Parquet) and one reaction's revision history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.api.problems import NOT_FOUND_RESPONSE, PROBLEM_RESPONSES, not_found
from services.api.v1.cursors import decode_reaction_key, encode_reaction_key
from services.api.v1.deps import LimitsDep, StoreDep
from services.api.v1.formats import (
    EXPORT_RESPONSES,
    Format,
    frame_response,
    negotiate,
    reactions_frame,
)
from services.api.v1.params import (
    HORIZON_PATTERN,
    AnnouncementIdPath,
    AsOf,
    Cursor,
    InstrumentPath,
    Limit,
    ReactionFilterDep,
    page_size,
)
from services.api.v1.schemas import ReactionPublic, ReactionsPage, RevisionHistory
from services.events import Signal
from services.frames import to_us
from services.store.filters import ReactionKey

router = APIRouter(prefix="/reactions", tags=["reactions"], responses=PROBLEM_RESPONSES)


def _public(signals: list[Signal]) -> list[ReactionPublic]:
    return [ReactionPublic.model_validate(s.model_dump()) for s in signals]


@router.get(
    "",
    summary="The latest revision of each matching reaction, by anchor time",
    response_model=ReactionsPage,
    responses=EXPORT_RESPONSES,
)
async def list_reactions(
    request: Request,
    store: StoreDep,
    limits: LimitsDep,
    where: ReactionFilterDep,
    cursor: Cursor = None,
    limit: Limit = None,
    format: Annotated[Format | None, Query(description="Overrides the Accept header")] = None,
    as_of: AsOf = None,
) -> ReactionsPage | Response:
    fmt = negotiate(request, format)
    maximum = limits.page_size_max if fmt == "json" else limits.export_rows_max
    size = page_size(limit, default=limits.page_size_default, maximum=maximum)
    after = decode_reaction_key(cursor) if cursor else None
    if as_of is None:
        rows = await store.list_reactions(where, after=after, limit=size + 1)
    else:
        rows = await store.reactions_as_of(where, to_us(as_of), after=after, limit=size + 1)
    items, more = rows[:size], len(rows) > size
    next_cursor = None
    if more:
        next_cursor = encode_reaction_key(ReactionKey.of(items[-1]))
    if fmt == "json":
        return ReactionsPage(items=_public(items), next_cursor=next_cursor, limit=size)
    return frame_response(reactions_frame(items), fmt, next_cursor=next_cursor)


@router.get(
    "/{announcement_id}/{instrument}/{horizon}/revisions",
    summary="Every revision of one reaction, oldest first",
    responses=NOT_FOUND_RESPONSE,
)
async def list_revisions(
    store: StoreDep,
    announcement_id: AnnouncementIdPath,
    instrument: InstrumentPath,
    horizon: Annotated[str, Path(pattern=HORIZON_PATTERN)],
) -> RevisionHistory:
    revisions = await store.revisions(announcement_id, instrument, horizon)
    if not revisions:
        raise not_found(f"no reaction {announcement_id}|{instrument}|{horizon}")
    return RevisionHistory(
        announcement_id=announcement_id,
        instrument=instrument,
        horizon=horizon,
        revisions=_public(revisions),
    )
