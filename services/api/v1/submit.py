"""POST /v1/announcements (write keys) and GET /v1/intake: how announcements get in."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel

from services.api.auth import require_write_key
from services.api.deps import runtime_of
from services.api.problems import PROBLEM_RESPONSES, ProblemError
from services.api.v1.schemas import AnnouncementPublic
from services.events import Announcement
from services.sources.announcer import Announcer
from services.sources.exceptions import AnnouncementConflict, BrokerUnavailable
from services.store.intake import IntakeStatus, IntakeStore

MAX_BODY_BYTES = 64 * 1024

router = APIRouter(tags=["intake"], responses=PROBLEM_RESPONSES)


class Submitted(BaseModel):
    """An announcement the broker acknowledged (202), or the one accepted first (200)."""

    announcement: AnnouncementPublic
    location: str
    """Where its reactions appear: the announcement with its reactions."""
    stream: str
    """The live stream of signals of its first target, to watch them form."""


class IntakeItemPublic(BaseModel):
    source: str
    item_id: str
    status: IntakeStatus
    published_at: datetime
    draft: dict[str, Any]
    """What the extractor filled in; a person completes it and POSTs it as an announcement."""
    seen_at: datetime


class IntakePage(BaseModel):
    items: list[IntakeItemPublic]


def _problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {**PROBLEM_RESPONSES[400], "description": d} for s, d in _STATUSES if s in statuses}


_STATUSES = (
    (401, "No key, or not a valid one"),
    (403, "Writes are disabled, or the key may only read"),
    (409, "The id exists with other content"),
    (413, "The body is over 64 KiB"),
    (503, "The broker did not acknowledge: nothing was accepted"),
)


def _announcer(request: Request) -> Announcer:
    announcer = runtime_of(request).announcer
    if announcer is None:
        raise ProblemError(
            503, "this process does not produce announcements", kind="writes-unavailable"
        )
    return announcer


def _intake(request: Request) -> IntakeStore:
    intake = runtime_of(request).intake
    if intake is None:
        raise ProblemError(503, "this process has no intake store", kind="intake-unavailable")
    return intake


@router.post(
    "/announcements",
    summary="Enter an announcement: produced to Kafka, answered once the broker acknowledged it",
    status_code=202,
    dependencies=[Depends(require_write_key)],
    responses={
        200: {"model": Submitted, "description": "The same id with the same content: a repeat"},
        **_problem_responses(401, 403, 409, 413, 503),
    },
)
async def submit_announcement(
    announcement: Annotated[Announcement, Body()],
    announcer: Annotated[Announcer, Depends(_announcer)],
    response: Response,
) -> Submitted:
    try:
        outcome = await announcer.submit(announcement)
    except AnnouncementConflict as exc:
        raise ProblemError(409, str(exc), kind="conflict") from exc
    except BrokerUnavailable as exc:
        raise ProblemError(503, str(exc), kind="broker-unavailable") from exc
    accepted = outcome.announcement
    location = f"/v1/announcements/{quote(accepted.id, safe='')}"
    response.status_code = 202 if outcome.status == "accepted" else 200
    response.headers["Location"] = location
    return Submitted(
        announcement=AnnouncementPublic.model_validate(accepted.model_dump()),
        location=location,
        stream="/v1/signals/stream?" + urlencode({"target": accepted.targets[0]}),
    )


@router.get("/intake", summary="Source items kept for a person to complete (no target found)")
async def list_intake(
    intake: Annotated[IntakeStore, Depends(_intake)],
    status: Annotated[IntakeStatus, Query()] = "unrouted",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> IntakePage:
    items = await intake.items(status, limit=limit)
    return IntakePage(
        items=[IntakeItemPublic.model_validate(i, from_attributes=True) for i in items]
    )
