"""`/v1/alerts/subscriptions`: webhook subscriptions. Creating, deleting and replaying need a
write key; the signing secret is returned once, at creation."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services import limits
from services.alerts.exceptions import UnsafeTarget
from services.alerts.filters import AlertFilter
from services.alerts.formats import AlertFormat
from services.alerts.signing import new_secret
from services.alerts.targets import Resolver, check_target, resolve_host, shown_url
from services.alerts.types import StoredSubscription
from services.api.auth import require_write_key
from services.api.deps import runtime_of
from services.api.problems import NOT_FOUND_RESPONSE, PROBLEM_RESPONSES, ProblemError, not_found
from services.store.alerts import AlertStore


@dataclass(frozen=True, slots=True)
class AlertsRuntime:
    store: AlertStore
    allowed_hosts: frozenset[str] = frozenset()
    resolve: Resolver = field(default=resolve_host)


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://desk.example/hooks/market-reaction",
                    "filter": {
                        "instrument": "KOSPI",
                        "horizon": "close",
                        "final_only": True,
                        "min_abs_z": 1.5,
                    },
                    "format": "json",
                }
            ]
        },
    )

    url: Annotated[str, Field(min_length=1, max_length=limits.URL_MAX_CHARS)]
    """https, on a public address (or a host listed in MR_ALERT_ALLOWED_HOSTS)."""
    filter: AlertFilter = AlertFilter()
    format: AlertFormat = "json"
    """json: the signal as the live stream sends it; slack: an incoming-webhook message."""


class OutboxState(BaseModel):
    pending: int
    delivered: int
    dead: int


class SubscriptionPublic(BaseModel):
    id: str
    url: str
    """Scheme and host only: a path may hold a token."""
    filter: AlertFilter
    format: AlertFormat
    enabled: bool
    disabled_reason: str | None
    consecutive_dead_letters: int
    last_errors: list[str]
    """The latest delivery errors, newest last."""
    created_at: datetime
    outbox: OutboxState


class SubscriptionCreated(SubscriptionPublic):
    secret: str
    """Signs every delivery (X-MR-Signature); shown only in this answer."""


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_cursor: Annotated[int, Field(ge=0)] = 0
    """First revision cursor to send again (inclusive)."""
    to_cursor: Annotated[int, Field(ge=0)] | None = None
    """Last one (inclusive); none: up to the newest."""


class ReplayResult(BaseModel):
    queued: int
    """Alerts queued again (the revisions in the range that the filter matches)."""
    enabled: bool


def _alerts(request: Request) -> AlertsRuntime:
    runtime = runtime_of(request).alerts
    if runtime is None:
        raise ProblemError(503, "alerts are not available here", kind="unavailable")
    return runtime


AlertsDep = Annotated[AlertsRuntime, Depends(_alerts)]
_WRITE = [Depends(require_write_key)]
_AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "No or unknown write key"},
    403: {"description": "Writes are disabled"},
}

router = APIRouter(prefix="/v1/alerts/subscriptions", tags=["alerts"])


async def _public(alerts: AlertsRuntime, sub: StoredSubscription) -> SubscriptionPublic:
    counts = await alerts.store.counts(sub.id)
    return SubscriptionPublic(
        id=sub.id,
        url=shown_url(sub.url),
        filter=sub.filter,
        format=sub.format,
        enabled=sub.enabled,
        disabled_reason=sub.disabled_reason,
        consecutive_dead_letters=sub.consecutive_dead,
        last_errors=sub.last_errors,
        created_at=datetime.fromtimestamp(sub.created_at_us / 1e6, UTC),
        outbox=OutboxState(pending=counts.pending, delivered=counts.delivered, dead=counts.dead),
    )


async def _existing(alerts: AlertsRuntime, subscription_id: str) -> StoredSubscription:
    sub = await alerts.store.subscription(subscription_id)
    if sub is None:
        raise not_found(f"no alert subscription {subscription_id}")
    return sub


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=_WRITE,
    responses={**PROBLEM_RESPONSES, **_AUTH_RESPONSES},
)
async def create_subscription(
    body: SubscriptionCreate, alerts: AlertsDep, response: Response
) -> SubscriptionCreated:
    """Subscribe a URL to the revisions its filter matches; refused with 422 when the URL is not
    https on a public address (unless its host is allowed)."""
    try:
        await check_target(body.url, alerts.allowed_hosts, alerts.resolve)
    except UnsafeTarget as exc:
        raise ProblemError(422, str(exc), kind="unsafe-target", title="Target refused") from exc
    sub = StoredSubscription(
        id=uuid.uuid4().hex,
        url=body.url,
        filter=body.filter,
        format=body.format,
        secret=new_secret(),
        created_at_us=time.time_ns() // 1000,
        enabled=True,
        disabled_reason=None,
        consecutive_dead=0,
        last_errors=[],
    )
    await alerts.store.add_subscription(sub)
    response.headers["Location"] = f"{router.prefix}/{sub.id}"
    public = await _public(alerts, sub)
    return SubscriptionCreated(**public.model_dump(), secret=sub.secret)


@router.get("")
async def list_subscriptions(alerts: AlertsDep) -> list[SubscriptionPublic]:
    return [await _public(alerts, s) for s in await alerts.store.subscriptions()]


@router.get("/{subscription_id}", responses=NOT_FOUND_RESPONSE)
async def get_subscription(subscription_id: str, alerts: AlertsDep) -> SubscriptionPublic:
    """Its state: enabled or why disabled, the latest errors, and its outbox."""
    return await _public(alerts, await _existing(alerts, subscription_id))


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=_WRITE,
    responses={**NOT_FOUND_RESPONSE, **_AUTH_RESPONSES},
)
async def delete_subscription(subscription_id: str, alerts: AlertsDep) -> Response:
    """Remove it and its outbox: nothing more is sent."""
    if not await alerts.store.remove_subscription(subscription_id):
        raise not_found(f"no alert subscription {subscription_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{subscription_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=_WRITE,
    responses={**NOT_FOUND_RESPONSE, **PROBLEM_RESPONSES, **_AUTH_RESPONSES},
)
async def replay(subscription_id: str, body: ReplayRequest, alerts: AlertsDep) -> ReplayResult:
    """Send again the stored revisions of a cursor range that the filter matches (same
    Idempotency-Key as before); enables a disabled subscription again."""
    await _existing(alerts, subscription_id)
    if body.to_cursor is not None and body.to_cursor < body.from_cursor:
        raise ProblemError(
            400,
            f"to_cursor ({body.to_cursor}) is before from_cursor ({body.from_cursor})",
            kind="invalid-parameter",
            title="Invalid parameter",
        )
    queued = await alerts.store.replay(subscription_id, body.from_cursor, body.to_cursor)
    return ReplayResult(queued=queued, enabled=True)
