"""One delivery attempt over HTTP, and what to do after it: done, retry later, or give up."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from services.alerts.types import Verdict
from services.settings import Settings

RETRYABLE_4XX = frozenset({408, 429})
_ERROR_CHARS = 200


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int = 8
    """Attempts before a delivery is dead-lettered."""
    disable_after_dead: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    retry_after_max_s: float = 3600.0
    """A receiver's Retry-After is honoured up to this."""
    timeout_s: float = 10.0
    response_max_bytes: int = 65_536
    concurrency: int = 16
    """Deliveries in flight per subscription."""
    allowed_hosts: frozenset[str] = frozenset()
    delivered_retention_s: float = 7 * 86_400.0
    """Delivered rows older than this are pruned from the outbox."""

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            max_attempts=settings.alert_max_attempts,
            disable_after_dead=settings.alert_disable_after_dead,
            backoff_base_s=settings.alert_backoff_base_s,
            backoff_max_s=settings.alert_backoff_max_s,
            timeout_s=settings.alert_timeout_s,
            response_max_bytes=settings.alert_response_max_bytes,
            concurrency=settings.alert_concurrency,
            allowed_hosts=frozenset(settings.alert_allowed_hosts),
            delivered_retention_s=settings.alert_delivered_retention_s,
        )

    def retry_delay_s(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Exponential backoff with jitter (between half and all of the step) after attempt
        number `attempt`; never sooner than the receiver's Retry-After."""
        step = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** (attempt - 1))
        delay = rng.uniform(step / 2, step)
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.retry_after_max_s))
        return delay

    def verdict(self, attempt: Attempt, attempts_done: int) -> Verdict:
        status = attempt.status
        if status is not None and 200 <= status < 300:
            return "delivered"
        if status is not None and status < 500 and status not in RETRYABLE_4XX:
            return "dead"  # the receiver refuses it (or redirects, which is not followed)
        return "dead" if attempts_done >= self.max_attempts else "retry"


@dataclass(frozen=True, slots=True)
class Attempt:
    status: int | None
    """None: no answer (timeout, connection error)."""
    error: str | None = None
    retry_after_s: float | None = None


def retry_after_s(value: str | None, *, now_s: float) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, at.timestamp() - datetime.fromtimestamp(now_s, UTC).timestamp())


async def post(
    client: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    max_bytes: int,
    now_s: float,
) -> Attempt:
    """POST once; never follows a redirect, reads at most `max_bytes` of the answer, and says
    what went wrong without the URL (its path may hold a token)."""
    try:
        async with client.post(url, data=body, headers=headers, allow_redirects=False) as response:
            # read to the end (up to the cap) so the connection can serve the next alert
            answer = bytearray()
            while len(answer) < max_bytes:
                chunk = await response.content.read(max_bytes - len(answer))
                if not chunk:
                    break
                answer += chunk
            if 200 <= response.status < 300:
                return Attempt(response.status)
            text = bytes(answer).decode(errors="replace").strip()
            error = f"HTTP {response.status}"
            if text:
                error += f": {text[:_ERROR_CHARS]}"
            return Attempt(
                response.status,
                error,
                retry_after_s(response.headers.get("Retry-After"), now_s=now_s),
            )
    except TimeoutError as exc:
        return Attempt(None, f"timed out ({type(exc).__name__})")
    except aiohttp.ClientError as exc:
        return Attempt(None, f"connection failed ({type(exc).__name__})")
