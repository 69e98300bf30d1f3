"""Value types shared by the alert store, the dispatcher and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.alerts.filters import AlertFilter
from services.alerts.formats import AlertFormat

Verdict = Literal["delivered", "retry", "dead"]


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    id: str
    url: str
    filter: AlertFilter
    format: AlertFormat
    secret: str
    created_at_us: int
    enabled: bool
    disabled_reason: str | None
    consecutive_dead: int
    last_errors: list[str]
    """The latest delivery errors, newest last."""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One pending delivery of one revision to one subscription."""

    id: int
    subscription_id: str
    signal_id: str
    reaction_key: str
    """`announcement_id|instrument|horizon`: alerts of one reaction go out in order."""
    body: bytes
    emitted_at_us: int
    attempts: int
    next_attempt_at_us: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt did to an outbox row."""

    item: OutboxItem
    verdict: Verdict
    at_us: int
    error: str | None = None
    next_attempt_at_us: int = 0


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int = 0
    delivered: int = 0
    dead: int = 0
